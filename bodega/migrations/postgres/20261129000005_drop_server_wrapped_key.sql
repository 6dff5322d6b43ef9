-- `devices.server_wrapped_key` was never written: each device's server-held key is
-- `devices.server_key` (20261129000001), and the device keeps its data key wrapped by it itself.
ALTER TABLE devices DROP COLUMN server_wrapped_key;
