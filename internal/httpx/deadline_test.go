package httpx_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx"
)

const d = 300 * time.Millisecond

// serve runs h behind httpx.BodyDeadline(d) on a real server: deadlines need a real connection.
func serve(t *testing.T, h echo.HandlerFunc) string {
	t.Helper()
	e := echo.New()
	e.Any("/", h, httpx.BodyDeadline(d))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// send writes a request with the body sent at once and returns the answer's body.
func send(t *testing.T, addr, method, body string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", method, len(body), body)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestBodyInTimeKeepsContext: once a body has arrived in time, a handler still working when
// the deadline passes keeps its context (net/http's read-ahead after the body must not hit
// the deadline and cancel it).
func TestBodyInTimeKeepsContext(t *testing.T) {
	addr := serve(t, func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return c.String(http.StatusOK, "read: "+err.Error())
		}
		select {
		case <-c.Request().Context().Done():
			return c.String(http.StatusOK, "context canceled")
		case <-time.After(3 * d): // past the deadline: what is tested, not a synchronisation
		}
		return c.String(http.StatusOK, "ok "+string(b))
	})
	if got := send(t, addr, "POST", "hello"); got != "ok hello" {
		t.Errorf("got %q, want ok hello", got)
	}
}

// TestSlowBodyTimesOut: a body still arriving at the deadline fails with the contract's
// error; without a body there is no deadline, so a long answer keeps its context.
func TestSlowBodyTimesOut(t *testing.T) {
	addr := serve(t, func(c echo.Context) error {
		if c.Request().Method == http.MethodGet {
			select {
			case <-c.Request().Context().Done():
				return c.String(http.StatusOK, "context canceled")
			case <-time.After(3 * d):
				return c.String(http.StatusOK, "ok")
			}
		}
		_, err := io.ReadAll(c.Request().Body)
		if errors.Is(err, filing.ErrRequestTimeout) {
			return c.String(http.StatusOK, "timeout")
		}
		return c.String(http.StatusOK, fmt.Sprintf("read: %v", err))
	})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Declares 100 bytes, sends 1: the rest never comes.
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "timeout" {
		t.Errorf("slow body: %q, want timeout", b)
	}
	if got := send(t, addr, "GET", ""); got != "ok" {
		t.Errorf("GET: %q, want ok", got)
	}
	if !strings.Contains(filing.ErrRequestTimeout.MessageZh, "超时") {
		t.Errorf("message_zh %q", filing.ErrRequestTimeout.MessageZh)
	}
}
