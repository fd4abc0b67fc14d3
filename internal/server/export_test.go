package server

// PlaintextBlobs makes a benchmark's server store images unencrypted (file store only).
func PlaintextBlobs(c *Config) { c.plaintextBlobs = true }
