// Package redisbackup takes a consistent backup of a live Redis: a point-in-time RDB
// snapshot of the whole data set, fetched the way a new replica gets its first copy (SYNC;
// what `redis-cli --rdb` does). Redis forks and writes the snapshot of one instant while it
// goes on serving, so every transaction of an order (the store's MULTI/EXEC and Lua
// scripts) is in it whole or not at all, across all keys. Nothing is needed on the Redis
// host: the snapshot comes over the connection, and the caller writes it where backups go.
//
// Restoring is starting a redis-server on the file (docs/production.md, "Restore").
package redisbackup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Target is the Redis to back up: a master or a replica (a replica's snapshot is as
// consistent, and spares the master the fork).
type Target struct {
	Addr     string
	Username string
	Password string
	// TLS, when set, is used for a rediss:// server.
	TLS *tls.Config
}

// Snapshot fetches an RDB snapshot of t's whole data set and writes it to w; it returns
// the bytes written. It fails, having written a partial file, when the connection breaks;
// the caller writes to a temporary file and keeps it only on success (WriteFile does).
func Snapshot(ctx context.Context, t Target, w io.Writer) (int64, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if t.TLS != nil {
		tc := tls.Client(conn, t.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, err
		}
		conn = tc
	}
	// The context's end closes the connection, which ends any read below.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	r := bufio.NewReaderSize(conn, 64<<10)
	if t.Password != "" {
		args := []string{"AUTH", t.Password}
		if t.Username != "" {
			args = []string{"AUTH", t.Username, t.Password}
		}
		if err := call(conn, r, args...); err != nil {
			return 0, fmt.Errorf("redisbackup: AUTH: %w", err)
		}
	}
	// Redis 7 sends only the snapshot, then no replication stream, to an rdb-only
	// replica; an older one refuses the option, and the stream after the snapshot is
	// then simply not read.
	_ = call(conn, r, "REPLCONF", "rdb-only", "1")
	if _, err := conn.Write(command("SYNC")); err != nil {
		return 0, err
	}
	n, err := readPayload(r, w)
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		return n, fmt.Errorf("redisbackup: %w", err)
	}
	return n, nil
}

func command(args ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.Bytes()
}

// call sends a command and reads a simple reply.
func call(conn net.Conn, r *bufio.Reader, args ...string) error {
	if _, err := conn.Write(command(args...)); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if strings.HasPrefix(line, "-") {
		return errors.New(strings.TrimSpace(line[1:]))
	}
	return nil
}

// eofMarkLen is the length of the delimiter of a diskless snapshot ($EOF:<mark>).
const eofMarkLen = 40

// readPayload reads SYNC's answer: newlines while the snapshot is being made, then either
// "$<length>" and that many bytes, or (diskless replication, Redis 7's default)
// "$EOF:<40-byte mark>", the bytes, and the mark again.
func readPayload(r *bufio.Reader, w io.Writer) (int64, error) {
	var line string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return 0, fmt.Errorf("waiting for the snapshot: %w", err)
		}
		if l = strings.TrimRight(l, "\r\n"); l != "" {
			line = l
			break
		}
	}
	if strings.HasPrefix(line, "-") {
		return 0, fmt.Errorf("SYNC refused: %s", line[1:])
	}
	if !strings.HasPrefix(line, "$") {
		return 0, fmt.Errorf("unexpected answer to SYNC: %.40q", line)
	}
	v := &verifier{w: w}
	if mark, ok := strings.CutPrefix(line, "$EOF:"); ok {
		if len(mark) != eofMarkLen {
			return 0, fmt.Errorf("bad snapshot delimiter")
		}
		n, err := copyUntil(v, r, []byte(mark))
		if err != nil {
			return n, err
		}
		return n, v.done()
	}
	size, err := strconv.ParseInt(line[1:], 10, 64)
	if err != nil || size < 0 {
		return 0, fmt.Errorf("bad snapshot length %q", line)
	}
	n, err := io.CopyN(v, r, size)
	if err != nil {
		return n, fmt.Errorf("snapshot cut short after %d of %d bytes: %w", n, size, err)
	}
	return n, v.done()
}

// copyUntil copies r to w up to (not including) mark, which ends the stream.
func copyUntil(w io.Writer, r io.Reader, mark []byte) (int64, error) {
	var total int64
	buf := make([]byte, 0, 128<<10)
	chunk := make([]byte, 64<<10)
	for {
		k, err := r.Read(chunk)
		buf = append(buf, chunk[:k]...)
		if i := bytes.Index(buf, mark); i >= 0 {
			n, werr := w.Write(buf[:i])
			return total + int64(n), werr
		}
		// Keep the tail that could be the start of the mark.
		if keep := len(mark) - 1; len(buf) > keep {
			n, werr := w.Write(buf[:len(buf)-keep])
			total += int64(n)
			if werr != nil {
				return total, werr
			}
			buf = append(buf[:0], buf[len(buf)-keep:]...)
		}
		if err != nil {
			return total, fmt.Errorf("snapshot cut short after %d bytes: %w", total, err)
		}
	}
}

// verifier passes the snapshot on and checks that it is an RDB file: "REDIS" and a version
// at the start, the end-of-file opcode (0xFF) before the 8-byte checksum at the end.
type verifier struct {
	w    io.Writer
	head []byte
	tail [9]byte
	n    int64
}

func (v *verifier) Write(p []byte) (int, error) {
	if len(v.head) < 9 {
		v.head = append(v.head, p[:min(len(p), 9-len(v.head))]...)
	}
	for _, b := range p[max(0, len(p)-9):] {
		copy(v.tail[:], v.tail[1:])
		v.tail[8] = b
	}
	v.n += int64(len(p))
	return v.w.Write(p)
}

func (v *verifier) done() error {
	if v.n < 18 || !bytes.HasPrefix(v.head, []byte("REDIS")) || v.tail[0] != 0xFF {
		return fmt.Errorf("the %d bytes received are not a whole RDB snapshot", v.n)
	}
	return nil
}

// WriteFile takes a snapshot into path, durably: a temporary file beside it, fsynced, then
// renamed over path, so that path is never a partial snapshot.
func WriteFile(ctx context.Context, t Target, path string, timeout time.Duration) (int64, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return writeFile(path, func(w io.Writer) (int64, error) { return Snapshot(ctx, t, w) })
}
