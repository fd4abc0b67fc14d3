// Package s3test runs a real S3 server for tests: versitygw (github.com/versity/versitygw)
// with its posix backend in a temporary folder, on a free loopback port. Tests that need it
// skip, saying how to install it, when it is missing.
package s3test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Install is how to get the server; .ci/run does it.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Test credentials of every server started here.
const (
	Access = "beianscan-test"
	Secret = "beianscan-test-secret-0123456789"
)

// Server is a running versitygw.
type Server struct {
	// Endpoint is http://127.0.0.1:PORT.
	Endpoint string
	// Root holds the buckets as folders: what the bucket holds is on disk here.
	Root   string
	bin    string
	addr   string
	cmd    *exec.Cmd
	exited chan error
	log    string
}

var buckets atomic.Int64

// Binary finds versitygw: $VERSITYGW, $PATH, then $(go env GOPATH)/bin.
func Binary() (string, bool) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		return p, true
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, true
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(gopath, "bin", "versitygw")
	if _, err := os.Stat(p); err == nil {
		return p, true
	}
	return "", false
}

// Start runs a server for the test and stops it at cleanup; it skips the test when
// versitygw is not installed. It sets AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for the
// test, as the service reads them.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, ok := Binary()
	if !ok {
		t.Skip("versitygw (a real S3 server) is not installed; get it with: " + Install)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	s := &Server{Endpoint: "http://" + addr, Root: filepath.Join(dir, "root"), bin: bin, addr: addr, log: filepath.Join(dir, "versitygw.log")}
	if err := os.Mkdir(s.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", Access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", Secret)
	s.Restart(t)
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the server again (after Stop) on the same port and folder.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "--access", Access, "--secret", Secret, "--port", s.addr, "--quiet", "posix", s.Root)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(s.log)
			t.Fatalf("versitygw exited: %v\n%s", err, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw not listening on %s after 20s", s.addr)
		}
	}
	// Stop waits on this channel rather than calling Wait twice.
	s.cmd = cmd
	s.exited = exited
}

// Stop kills the server (an outage); Restart brings it back with its data.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Client is a plain S3 client of the server.
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	u, _ := url.Parse(s.Endpoint)
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(Access, Secret, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Bucket creates a new empty bucket and returns its name.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("beianscan-%d-%d", os.Getpid(), buckets.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	return name
}

// URL is the BEIANSCAN_BLOB_URL of bucket/prefix on this server.
func (s *Server) URL(bucket, prefix string) string {
	return "s3://" + bucket + "/" + strings.Trim(prefix, "/") + "?endpoint=" + url.QueryEscape(s.Endpoint) + "&region=us-east-1"
}
