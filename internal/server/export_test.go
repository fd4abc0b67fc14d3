package server

import "github.com/labstack/echo/v4"

// Echo exposes the router to the tests (the OpenAPI route check).
func (m *Main) Echo() *echo.Echo { return m.echo }
