package server

import "github.com/labstack/echo/v4"

// PlaintextBlobs makes a benchmark's server store images unencrypted (file store only).
func PlaintextBlobs(c *Config) { c.plaintextBlobs = true }

// Echo exposes the router to the tests (the OpenAPI route check).
func (m *Main) Echo() *echo.Echo { return m.echo }
