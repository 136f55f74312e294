"""Drivers: how the suites reach their targets (emulated devices or real ones)."""

from . import emulated, netmiko_ios  # noqa: F401  (register the drivers)
from .base import DRIVERS, Capability, DeviceSession, Driver, DriverError, driver_class  # noqa: F401
