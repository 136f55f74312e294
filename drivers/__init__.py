"""Drivers: how the suites reach their targets (emulated devices or real ones)."""

from .base import DRIVERS, Capability, DeviceSession, Driver, DriverError, driver_class  # noqa: F401
from . import emulated, netmiko_ios  # noqa: F401  (register the drivers)
