// Package wstest is test support for measuring what idle desktop websockets cost: raw
// handshakes that hold a connection with no client library, opened by a child process (the
// test binary run again) so that the measuring process counts the server's memory alone and
// 10,000 connections fit each process's file limit.
package wstest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvCount reads a positive count from the environment variable name, def when it is unset.
func EnvCount(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		tb.Fatalf("%s=%q", name, s)
	}
	return v
}

// DialRaw opens a websocket to addr for path by a handshake written by hand, header adding
// request lines (each ending "\r\n"), and reads up to the server's snapshot frame.
func DialRaw(tb testing.TB, addr, path, header string) net.Conn {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n" + header +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		tb.Fatalf("handshake: %v", err)
	}
	// The 101 answer, then the snapshot as an unmasked text frame from the server.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf [8192]byte
	got := 0
	for !bytes.Contains(buf[:got], []byte(`"type":"snapshot"`)) {
		if got == len(buf) {
			tb.Fatal("no snapshot in the first 8 KiB")
		}
		m, err := conn.Read(buf[got:])
		if err != nil {
			tb.Fatalf("read: %v (%q)", err, buf[:got])
		}
		got += m
	}
	if !strings.HasPrefix(string(buf[:got]), "HTTP/1.1 101") {
		tb.Fatalf("handshake answered %q", buf[:min(got, 80)])
	}
	_ = conn.SetReadDeadline(time.Time{})
	return conn
}

// StartChild runs this test binary again as the test named helper with env added, waits for
// its "ready" line (see Hold), and returns how to end it.
func StartChild(tb testing.TB, helper, env string) (stop func()) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helper+"$")
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	stop = func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}
	if line != "ready\n" {
		stop()
		tb.Fatalf("client process: %q, %v", line, err)
	}
	return stop
}

// Hold is the child's side of StartChild: it says "ready", keeps conns open until its
// stdin closes, then closes them.
func Hold(conns []net.Conn) {
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		_ = c.Close()
	}
}

// ReportGrowth runs open and reports how much HeapInuse+StackInuse grew per n (B/unit), with
// its heap and stack parts. With profile set it also writes heap and goroutine profiles
// (profile, profile+".goroutines") while what open made is still alive.
func ReportGrowth(b *testing.B, n int, unit, profile string, open func()) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	open()
	// Each GC may halve a goroutine stack that uses under a quarter of it: a few GCs show
	// the steady state of an idle connection.
	for range 5 {
		runtime.GC()
	}
	runtime.ReadMemStats(&after)
	per := func(a, bb uint64) float64 { return (float64(a) - float64(bb)) / float64(n) }
	b.ReportMetric(per(after.HeapInuse+after.StackInuse, before.HeapInuse+before.StackInuse), "B/"+unit)
	b.ReportMetric(per(after.HeapInuse, before.HeapInuse), "heapB/"+unit)
	b.ReportMetric(per(after.StackInuse, before.StackInuse), "stackB/"+unit)
	if profile == "" {
		return
	}
	for _, p := range []struct {
		name, file string
		debug      int
	}{{"heap", profile, 0}, {"goroutine", profile + ".goroutines", 1}} {
		out, err := os.Create(p.file)
		if err != nil {
			b.Fatal(err)
		}
		_ = pprof.Lookup(p.name).WriteTo(out, p.debug)
		_ = out.Close()
	}
}
