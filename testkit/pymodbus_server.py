"""What the pymodbus fixture servers share (Debian python3-pymodbus 3.0): the server classes,
importable on a machine without pyserial.

A fixture puts this folder on its path and imports from here:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "testkit"))
"""
import sys
import types

# Debian's python3-pymodbus imports pyserial at load time even for TCP; stub it if absent.
for name in ("serial", "serial_asyncio"):
    try:
        __import__(name)
    except ImportError:
        stub = types.ModuleType(name)
        stub.create_serial_connection = None
        sys.modules[name] = stub

from pymodbus.datastore import (  # noqa: E402
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.server import StartTcpServer  # noqa: E402

__all__ = ["ModbusServerContext", "ModbusSlaveContext", "ModbusSparseDataBlock", "StartTcpServer"]
