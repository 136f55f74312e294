/*
 * xfrm_ack_shim: an LD_PRELOAD library for strongSwan's charon on kernels without the ESP
 * algorithms a test negotiates (DES, say): the kernel answers charon's XFRM_MSG_NEWSA and
 * XFRM_MSG_UPDSA with ENOSYS, and charon, as responder, then refuses the quick mode.
 *
 * It touches no IKE byte. Only on an AF_NETLINK/NETLINK_XFRM socket, a NEWSA, UPDSA or DELSA
 * request is written as one line to the file named by $XFRM_SHIM_LOG (SPI, addresses,
 * algorithms, keys and UDP encapsulation exactly as charon asked the kernel for them) and replaced by an
 * NLMSG_NOOP with the same sequence number and NLM_F_ACK, which the kernel acknowledges with
 * error 0: charon reads the acknowledgement it waits for. Every other message (SPI allocation,
 * policies, queries) goes to the kernel unchanged.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);

static int is_xfrm(int fd)
{
    int domain = 0, proto = 0;
    socklen_t len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) || domain != AF_NETLINK)
        return 0;
    len = sizeof(proto);
    return !getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) && proto == NETLINK_XFRM;
}

static void hex(FILE *f, const unsigned char *p, unsigned bits)
{
    for (unsigned i = 0; i < (bits + 7) / 8; i++)
        fprintf(f, "%02x", p[i]);
}

static void record(const struct nlmsghdr *nh)
{
    const char *path = getenv("XFRM_SHIM_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    char src[INET6_ADDRSTRLEN] = "", dst[INET6_ADDRSTRLEN] = "";
    if (!f)
        return;
    if (nh->nlmsg_type == XFRM_MSG_DELSA) {
        const struct xfrm_usersa_id *id = NLMSG_DATA(nh);
        inet_ntop(id->family, &id->daddr, dst, sizeof(dst));
        fprintf(f, "DELSA spi=%08x proto=%u dst=%s\n", ntohl(id->spi), id->proto, dst);
        fclose(f);
        return;
    }
    const struct xfrm_usersa_info *sa = NLMSG_DATA(nh);
    inet_ntop(sa->family, &sa->saddr, src, sizeof(src));
    inet_ntop(sa->family, &sa->id.daddr, dst, sizeof(dst));
    fprintf(f, "%s spi=%08x proto=%u src=%s dst=%s", nh->nlmsg_type == XFRM_MSG_NEWSA ? "NEWSA" : "UPDSA",
            ntohl(sa->id.spi), sa->id.proto, src, dst);
    int left = nh->nlmsg_len - NLMSG_SPACE(sizeof(*sa)), encap = 0;
    const struct rtattr *rta = (const void *)((const char *)sa + NLMSG_ALIGN(sizeof(*sa)));
    for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
        if (rta->rta_type == XFRMA_ALG_CRYPT) {
            const struct xfrm_algo *a = RTA_DATA(rta);
            fprintf(f, " enc=%s enc_key=", a->alg_name);
            hex(f, (const unsigned char *)a->alg_key, a->alg_key_len);
        } else if (rta->rta_type == XFRMA_ALG_AUTH_TRUNC) {
            const struct xfrm_algo_auth *a = RTA_DATA(rta);
            fprintf(f, " auth=%s icv_bits=%u auth_key=", a->alg_name, a->alg_trunc_len);
            hex(f, (const unsigned char *)a->alg_key, a->alg_key_len);
        } else if (rta->rta_type == XFRMA_ALG_AUTH) {
            const struct xfrm_algo *a = RTA_DATA(rta);
            fprintf(f, " auth=%s auth_key=", a->alg_name);
            hex(f, (const unsigned char *)a->alg_key, a->alg_key_len);
        } else if (rta->rta_type == XFRMA_ENCAP) {
            const struct xfrm_encap_tmpl *e = RTA_DATA(rta);   /* ESP in UDP (NAT-T): type and ports */
            fprintf(f, " encap=%u:%u-%u", e->encap_type, ntohs(e->encap_sport), ntohs(e->encap_dport));
            encap = 1;
        }
    }
    if (!encap)
        fputs(" encap=none", f);
    fputc('\n', f);
    fclose(f);
}

/* The NOOP that stands in for a recorded request: the kernel acknowledges it with error 0. */
static int substitute(int fd, const void *buf, size_t len, struct nlmsghdr *noop)
{
    const struct nlmsghdr *nh = buf;
    if (len < sizeof(*nh) || !is_xfrm(fd))
        return 0;
    if (nh->nlmsg_type != XFRM_MSG_NEWSA && nh->nlmsg_type != XFRM_MSG_UPDSA && nh->nlmsg_type != XFRM_MSG_DELSA)
        return 0;
    record(nh);
    *noop = *nh;
    noop->nlmsg_len = sizeof(*noop);
    noop->nlmsg_type = NLMSG_NOOP;
    noop->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    return 1;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    static send_fn real;
    struct nlmsghdr noop;
    if (!real)
        real = (send_fn)dlsym(RTLD_NEXT, "send");
    if (substitute(fd, buf, len, &noop))
        return real(fd, &noop, sizeof(noop), flags) < 0 ? -1 : (ssize_t)len;
    return real(fd, buf, len, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
    static sendto_fn real;
    struct nlmsghdr noop;
    if (!real)
        real = (sendto_fn)dlsym(RTLD_NEXT, "sendto");
    if (substitute(fd, buf, len, &noop))
        return real(fd, &noop, sizeof(noop), flags, to, tolen) < 0 ? -1 : (ssize_t)len;
    return real(fd, buf, len, flags, to, tolen);
}
