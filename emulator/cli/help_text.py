"""What ``?`` prints beside each word: IOS 12.2's help descriptions, by mode and command path.

``describe(mode, path)`` gives the description of the last word of ``path``
(the command's words spelt out: keywords in full, parameters by their type
name, ``A.B.C.D``, ``WORD``, ``<1-65535>``); None when IOS's wording is not
in this table (the word is then listed alone). ``header(mode)`` is the
heading IOS prints above a mode's command list.

The wording follows the 2500-series IOS 12.2 help text: the EXEC list as the
Configuration Fundamentals guide's "Using the Cisco IOS Command-Line
Interface" chapter shows it, the rest as the routers print it.
"""

from __future__ import annotations

__all__ = ["describe", "header", "interface_types", "ambiguous", "listed"]

HEADERS = {
    "exec": "Exec commands:",
    "config": "Configure commands:",
    "config-if": "Interface configuration commands:",
    "config-line": "Line configuration commands:",
    "config-isakmp": "ISAKMP commands:",
    "config-crypto-map": "Crypto Map configuration commands:",
    "config-crypto-map ": "Crypto Map configuration commands:",
    "cfg-crypto-trans": "Crypto transform configuration commands:",
    "config-route-map": "Route Map configuration commands:",
    "config-ext-nacl": "Ext Access List configuration commands:",
    "config-std-nacl": "Standard Access List configuration commands:",
}

_EXEC = {
    "clear": "Reset functions",
    "clear access-list": "Clear access list statistical information",
    "clear access-list counters": "Clear access list counters",
    "clear counters": "Clear counters on one or all interfaces",
    "clear crypto": "Encryption Module",
    "clear crypto isakmp": "Flush the ISAKMP database",
    "clear crypto sa": "Clear all the active security associations",
    "clear ip": "IP",
    "clear ip access-list": "Clear access list statistical information",
    "clear ip nat": "Clear NAT",
    "configure": "Enter configuration mode",
    "configure terminal": "Configure from the terminal",
    "copy": "Copy from one file to another",
    "copy running-config": "Copy from current system configuration",
    "copy running-config startup-config": "Copy to startup configuration",
    "debug": "Debugging functions (see also 'undebug')",
    "debug crypto": "Cryptographic subsystem",
    "debug crypto engine": "Crypto Engine Debug Messages",
    "debug crypto ipsec": "IPSEC processing",
    "debug crypto isakmp": "ISAKMP Key Management",
    "debug ip": "IP information",
    "debug ip nat": "NAT events",
    "debug ppp": "PPP (Point to Point Protocol) information",
    "debug ppp negotiation": "Protocol parameter negotiation",
    "disable": "Turn off privileged commands",
    "disconnect": "Disconnect an existing network connection",
    "enable": "Turn on privileged commands",
    "exit": "Exit from the EXEC",
    "logout": "Exit from the EXEC",
    "no": "Disable debugging functions",
    "no debug": "Debugging functions (see also 'undebug')",
    "no debug all": "Enable all debugging",
    "no terminal": "Set terminal line parameters",
    "no terminal monitor": "Copy debug output to the current terminal line",
    "ping": "Send echo messages",
    "ping ip": "IP echo",
    "ping WORD": "Ping destination address or hostname",
    "ping ip WORD": "Ping destination address or hostname",
    "quit": "Exit from the EXEC",
    "resume": "Resume an active network connection",
    "show": "Show running system information",
    "show access-lists": "List access lists",
    "show access-lists WORD": "ACL name or number",
    "show arp": "ARP table",
    "show clock": "Display the system clock",
    "show crypto": "Encryption Module",
    "show crypto call": "Show crypto call admission info",
    "show crypto engine": "Show crypto engine info",
    "show crypto ipsec": "Show IPSEC policy",
    "show crypto isakmp": "Show ISAKMP",
    "show crypto map": "Crypto maps",
    "show debugging": "State of each debugging option",
    "show history": "Display the session command history",
    "show interfaces": "Interface status and configuration",
    "show ip": "IP information",
    "show ip access-lists": "List IP access lists",
    "show ip arp": "IP ARP table",
    "show ip interface": "IP interface status and configuration",
    "show ip nat": "IP NAT information",
    "show ip route": "IP routing table",
    "show ip route A.B.C.D": "Network to display information about or hostname",
    "show login": "Display Secure Login Configurations and State",
    "show route-map": "route-map information",
    "show route-map WORD": "route-map name",
    "show running-config": "Current operating configuration",
    "show running-config interface": "Show interface configuration",
    "show sessions": "Information about Telnet connections",
    "show startup-config": "Contents of startup configuration",
    "show tcp": "Status of TCP connections",
    "show tcp brief": "Brief display",
    "show tcp brief all": "All entries",
    "show users": "Display information about terminal lines",
    "show version": "System hardware and software status",
    "telnet": "Open a telnet connection",
    "telnet WORD": "IP address or hostname of a remote system",
    "telnet WORD <1-65535>": "Port number",
    "terminal": "Set terminal line parameters",
    "terminal history": "Enable and control the command history function",
    "terminal history size": "Set history buffer size",
    "terminal history size <0-256>": "Size of history buffer",
    "terminal length": "Set number of lines on a screen",
    "terminal length <0-512>": "Number of lines on screen (0 for no pausing)",
    "terminal monitor": "Copy debug output to the current terminal line",
    "terminal no": "Negate a command or set its defaults",
    "terminal no monitor": "Copy debug output to the current terminal line",
    "terminal width": "Set width of the display terminal",
    "terminal width <0-512>": "Number of characters on a screen line",
    "undebug": "Disable debugging functions (see also 'debug')",
    "undebug all": "Disable all debugging",
    "write": "Write running configuration to memory, network, or terminal",
    "write memory": "Write to NV memory",
}

_EXEC.update({
    "clear logging": "Clear logging buffer",
    "configure memory": "Configure from NV memory",
    "debug ip packet": "General IP debug and IPSO security transactions",
    "debug ip packet <1-199>": "Access list",
    "debug ip packet detail": "Print more debugging detail",
    "debug ip packet <1-199> detail": "Print more debugging detail",
    "no debug ip packet": "General IP debug and IPSO security transactions",
    "show controllers": "Interface controller status",
    "show crypto dynamic-map": "Crypto map templates",
    "show crypto dynamic-map tag": "Crypto map template tag",
    "show ip interface brief": "Brief summary of IP status and configuration",
    "show logging": "Show the contents of logging buffers",
    "show terminal": "Display terminal configuration parameters",
    "traceroute": "Trace route to destination",
    "traceroute ip": "IP Trace",
    "traceroute WORD": "Trace route to destination address or hostname",
    "traceroute ip WORD": "Trace route to destination address or hostname",
    "undebug ip packet": "General IP debug and IPSO security transactions",
})

_EXIT_CONFIG = "Exit from configure mode"
_NO = "Negate a command or set its defaults"

_CONFIG = {
    "access-list": "Add an access list entry",
    "access-list <1-99>": "IP standard access list",
    "access-list <100-199>": "IP extended access list",
    "access-list <1-99> deny": "Specify packets to reject",
    "access-list <1-99> permit": "Specify packets to forward",
    "access-list <1-99> remark": "Access list entry comment",
    "access-list <100-199> deny": "Specify packets to reject",
    "access-list <100-199> permit": "Specify packets to forward",
    "access-list <100-199> remark": "Access list entry comment",
    "crypto": "Encryption module",
    "crypto call": "Configure Crypto Call Admission Control",
    "crypto dynamic-map": "Specify a dynamic crypto map template",
    "crypto ipsec": "Configure IPSEC policy",
    "crypto ipsec security-association": "Security association parameters",
    "crypto ipsec transform-set": "Define transform and settings",
    "crypto isakmp": "Configure ISAKMP policy",
    "crypto isakmp key": "Set pre-shared key for remote peer",
    "crypto isakmp policy": "Set policy for an ISAKMP protection suite",
    "crypto map": "Enter a crypto map",
    "dialer-list": "Create a dialer list entry",
    "enable": "Modify enable password parameters",
    "enable password": "Assign the privileged level password",
    "enable secret": "Assign the privileged level secret",
    "end": _EXIT_CONFIG,
    "exit": _EXIT_CONFIG,
    "hostname": "Set system's network name",
    "hostname WORD": "This system's network name",
    "interface": "Select an interface to configure",
    "ip": "Global IP configuration subcommands",
    "ip access-list": "Named access-list",
    "ip access-list extended": "Extended Access List",
    "ip access-list standard": "Standard Access List",
    "ip classless": "Follow classless routing forwarding rules",
    "ip default-gateway": "Specify default gateway (if not routing IP)",
    "ip domain-lookup": "Enable IP Domain Name System hostname translation",
    "ip domain-name": "Define the default domain name",
    "ip http": "HTTP server configuration",
    "ip http server": "Enable HTTP server",
    "ip local": "Specify local options",
    "ip local pool": "IP Local address pool lists",
    "ip nat": "NAT configuration commands",
    "ip nat inside": "Inside address translation",
    "ip nat pool": "Define pool of addresses",
    "ip nat translation": "NAT translation entry configuration",
    "ip route": "Establish static routes",
    "ip routing": "Enable IP routing",
    "ip subnet-zero": "Allow 'subnet zero' subnets",
    "line": "Configure a terminal line",
    "line aux": "Auxiliary line",
    "line con": "Primary terminal line",
    "line vty": "Virtual terminal",
    "login": "Enable secure login checking",
    "no": _NO,
    "route-map": "Create route-map or enter route-map command mode",
    "service": "Modify use of network based services",
    "service password-encryption": "Encrypt system passwords",
    "service timestamps": "Timestamp debug/log messages",
    "service timestamps debug": "Timestamp debug messages",
    "service timestamps log": "Timestamp log messages",
    "username": "Establish User Name Authentication",
}
_CONFIG.update({
    "logging": "Modify message logging facilities",
    "logging buffered": "Set buffered logging parameters",
    "logging buffered <4096-2147483647>": "Logging buffer size",
    "logging buffered <0-7>": "Logging severity level",
    "logging buffered <4096-2147483647> <0-7>": "Logging severity level",
})
_LOG_LEVEL_HELP = {
    "emergencies": "System is unusable", "alerts": "Immediate action needed", "critical": "Critical conditions",
    "errors": "Error conditions", "warnings": "Warning conditions",
    "notifications": "Normal but significant conditions", "informational": "Informational messages",
    "debugging": "Debugging messages"}
for _n, (_level, _words) in enumerate(_LOG_LEVEL_HELP.items()):
    for _prefix in ("logging buffered", "logging buffered <4096-2147483647>"):
        _CONFIG[f"{_prefix} {_level}"] = f"{_words} (severity={_n})"
# The words after "service timestamps [debug|log]".
for _prefix in ("service timestamps", "service timestamps debug", "service timestamps log"):
    _CONFIG[f"{_prefix} datetime"] = "Timestamp with date and time"
    _CONFIG[f"{_prefix} uptime"] = "Timestamp with system uptime"
_DATETIME_OPTIONS = {"msec": "Include milliseconds in timestamp", "localtime": "Use local time zone for timestamps",
                     "show-timezone": "Add time zone information to timestamp", "year": "Include year in timestamp"}

_INTERFACE = {
    "bandwidth": "Set bandwidth informational parameter",
    "clock": "Configure serial interface clock",
    "clock rate": "Configure serial interface clock speed",
    "crypto": "Encryption/Decryption commands",
    "crypto map": "Assign a Crypto Map",
    "delay": "Specify interface throughput delay",
    "description": "Interface specific description",
    "dialer-group": "Assign interface to dialer-list",
    "encapsulation": "Set encapsulation type for an interface",
    "encapsulation arpa": "Standard Ethernet version 2.0",
    "encapsulation hdlc": "Serial HDLC synchronous",
    "encapsulation ppp": "Point-to-Point protocol",
    "end": _EXIT_CONFIG,
    "exit": "Exit from interface configuration mode",
    "ip": "Interface Internet Protocol config commands",
    "ip address": "Set the IP address of an interface",
    "ip address negotiated": "IP Address negotiated over PPP",
    "ip directed-broadcast": "Enable forwarding of directed broadcasts",
    "ip mroute-cache": "Enable switching cache for incoming multicast packets",
    "ip nat": "NAT interface commands",
    "ip nat inside": "Inside interface for address translation",
    "ip nat outside": "Outside interface for address translation",
    "ip route-cache": "Enable fast-switching cache for outgoing packets",
    "keepalive": "Enable keepalive",
    "mop": "DEC MOP server commands",
    "mop enabled": "Enable MOP for interface",
    "no": _NO,
    "peer": "Peer parameters for point to point interfaces",
    "peer default": "Specify default parameters",
    "peer neighbor-route": "Add a route to the peer",
    "shutdown": "Shutdown the selected interface",
}

_ISAKMP = {
    "authentication": "Set authentication method for protection suite",
    "authentication pre-share": "Pre-Shared Key",
    "authentication rsa-encr": "Rivest-Shamir-Adleman Encryption",
    "authentication rsa-sig": "Rivest-Shamir-Adleman Signature",
    "encryption": "Set encryption algorithm for protection suite",
    "encryption 3des": "Three key triple DES",
    "encryption aes": "AES - Advanced Encryption Standard.",
    "encryption des": "DES - Data Encryption Standard (56 bit keys).",
    "end": _EXIT_CONFIG,
    "exit": "Exit from ISAKMP protection suite configuration mode",
    "group": "Set the Diffie-Hellman group",
    "group 1": "Diffie-Hellman group 1",
    "group 2": "Diffie-Hellman group 2",
    "group 5": "Diffie-Hellman group 5",
    "hash": "Set hash algorithm for protection suite",
    "hash md5": "Message Digest 5",
    "hash sha": "Secure Hash Standard",
    "lifetime": "Set lifetime for ISAKMP security association",
    "lifetime <60-86400>": "lifetime in seconds",
    "no": _NO,
}

_CRYPTO_MAP = {
    "end": _EXIT_CONFIG,
    "exit": "Exit from crypto map configuration mode",
    "match": "Match values.",
    "match address": "Match address of packets to encrypt.",
    "no": _NO,
    "set": "Set values for encryption/decryption",
    "set peer": "Allowed Encryption/Decryption peer.",
    "set pfs": "Specify pfs settings",
    "set security-association": "Security association parameters",
    "set transform-set": "Specify list of transform sets in priority order",
}

_TRANSFORM = {
    "end": _EXIT_CONFIG,
    "exit": "Exit from crypto transform configuration mode",
    "mode": "encapsulation mode (transport/tunnel)",
    "mode transport": "transport (payload encapsulation only)",
    "mode tunnel": "tunnel (datagram encapsulation)",
    "no": _NO,
}

_ROUTE_MAP = {
    "end": _EXIT_CONFIG,
    "exit": "Exit from route-map configuration mode",
    "match": "Match values from routing table",
    "match ip": "IP specific information",
    "match ip address": "Match address of route or match packet",
    "no": _NO,
}

_LINE = {
    "end": _EXIT_CONFIG,
    "exec-timeout": "Set the EXEC timeout",
    "exit": "Exit from line configuration mode",
    "login": "Enable password checking",
    "login local": "Local password checking",
    "no": _NO,
    "password": "Set a password",
    "transport": "Define transport protocols for line",
    "transport input": "Define which protocols to use when connecting to the terminal server",
    "transport input all": "All protocols",
    "transport input none": "No protocols",
    "transport input ssh": "TCP/IP SSH protocol",
    "transport input telnet": "TCP/IP Telnet protocol",
}

_ACL = {
    "deny": "Specify packets to reject",
    "end": _EXIT_CONFIG,
    "exit": "Exit from access-list configuration mode",
    "no": _NO,
    "permit": "Specify packets to forward",
    "remark": "Access list entry comment",
}

_TABLES = {
    "exec": _EXEC, "config": _CONFIG, "config-if": _INTERFACE, "config-isakmp": _ISAKMP,
    "config-crypto-map": _CRYPTO_MAP, "config-crypto-map ": _CRYPTO_MAP, "cfg-crypto-trans": _TRANSFORM,
    "config-route-map": _ROUTE_MAP, "config-line": _LINE, "config-ext-nacl": _ACL, "config-std-nacl": _ACL,
}

# ``interface ?``: the interface types, as a 2500 lists them.
_INTERFACE_TYPES = {
    "Async": "Async interface",
    "BRI": "ISDN Basic Rate Interface",
    "Dialer": "Dialer interface",
    "Ethernet": "IEEE 802.3",
    "FastEthernet": "FastEthernet IEEE 802.3",
    "Loopback": "Loopback interface",
    "Null": "Null interface",
    "Serial": "Serial",
    "Tunnel": "Tunnel interface",
    "Virtual-Template": "Virtual Template interface",
}
# Types every 12.2 image offers whatever the hardware.
_VIRTUAL_TYPES = ("Dialer", "Loopback", "Null", "Tunnel", "Virtual-Template")


# Commands IOS accepts but leaves out of its ``?`` lists.
HIDDEN = {("config", "version")}


def listed(mode: str, path: tuple[str, ...]) -> bool:
    """Whether ``?`` shows this word (a few commands are hidden, as on IOS)."""
    return (mode, " ".join(path)) not in HIDDEN


def header(mode: str) -> str | None:
    """The heading of a mode's top-level ``?`` list."""
    return HEADERS.get(mode)


def describe(mode: str, path: tuple[str, ...]) -> str | None:
    """The help description of the last word of ``path`` in ``mode``; None when not known."""
    if mode == "config" and path and path[-1] in _DATETIME_OPTIONS and "datetime" in path:
        return _DATETIME_OPTIONS[path[-1]]
    return _TABLES.get(mode, {}).get(" ".join(path))


def interface_types(hardware: list[str]) -> list[tuple[str, str]]:
    """``(type, description)`` of each interface type ``interface ?`` lists for a device with ``hardware``."""
    present = {name.rstrip("0123456789/.") for name in hardware}
    return [(t, d) for t, d in sorted(_INTERFACE_TYPES.items()) if t in present or t in _VIRTUAL_TYPES]


# Every EXEC command of a 2500 IOS 12.2 image, implemented here or not: an abbreviation is judged
# against all of them, as IOS does (``s`` could be send, setup, show, slip, start-chat or systat).
EXEC_COMMANDS = (
    "access-enable", "access-profile", "access-template", "bfe", "calendar", "cd", "clear", "clock",
    "configure", "connect", "copy", "debug", "delete", "dir", "disable", "disconnect", "enable", "erase", "exit",
    "help", "lock", "login", "logout", "mbranch", "mrbranch", "mrinfo", "mstat", "mtrace", "name-connection",
    "no", "ping", "ppp", "pwd", "quit", "reload", "resume", "rlogin", "rsh", "send", "setup", "show", "slip",
    "start-chat", "systat", "telnet", "terminal", "test", "traceroute", "tunnel", "undebug", "verify", "where",
    "which-route", "write", "x28", "x3")
# The subset user EXEC (``>``) offers.
USER_EXEC_COMMANDS = (
    "access-enable", "access-profile", "clear", "connect", "disable", "disconnect", "enable", "exit", "help",
    "lock", "login", "logout", "mrinfo", "mstat", "mtrace", "name-connection", "ping", "ppp", "quit", "resume",
    "rlogin", "show", "slip", "systat", "telnet", "terminal", "traceroute", "tunnel", "where", "x28", "x3")


def ambiguous(word: str, privileged: bool) -> bool:
    """True when ``word`` abbreviates more than one of IOS's EXEC commands (and names none in full)."""
    word = word.lower()
    commands = EXEC_COMMANDS if privileged else USER_EXEC_COMMANDS
    if word in commands:
        return False
    return sum(1 for c in commands if c.startswith(word)) > 1
