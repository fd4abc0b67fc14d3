// Package redistest starts private Redis processes for fault tests: a redis-server on a free
// port that a test may stop and restart, and a master with a replica and three Sentinels that
// a test may fail over. Destructive tests use these, never the shared Redis on 6379. Tests
// skip, saying how to get them, when the binaries are missing (Debian: apt-get install
// redis-server redis-sentinel).
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Binary returns the path of redis-server, or skips the test.
func Binary(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server redis-sentinel) to run this fault test")
	}
	return p
}

// FreePort returns a TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Server is one private redis-server (or Sentinel) process.
type Server struct {
	tb   testing.TB
	bin  string
	args []string
	Port int
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs redis-server on a free port with extra config arguments (e.g. "--replicaof",
// "127.0.0.1 6380") and waits until it answers PING. It is stopped when the test ends.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	dir := tb.TempDir()
	port := FreePort(tb)
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no"}, extra...)
	s := &Server{tb: tb, bin: Binary(tb), args: args, Port: port, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	s.start()
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.tb.Helper()
	s.cmd = exec.Command(s.bin, s.args...)
	if os.Getenv("REDISTEST_LOG") != "" {
		s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start %s: %v", s.bin, err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-s.done:
			s.tb.Fatalf("%s %v exited", s.bin, s.args)
		default:
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("%s on %s does not answer: %v", s.bin, s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a child process that is starting up
	}
}

// Stop kills the process (SIGKILL: nothing is saved) and waits for it. Stopping twice is fine.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Restart starts the process again on the same port.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.start()
}

// Client returns a client of this one process.
func (s *Server) Client(tb testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// StartReplica starts a replica of s, with extra config arguments, and waits until it has
// synchronised (WaitLinked): until then WAIT 1 answers 0 and a write that needs a replica's
// confirmation is refused.
func (s *Server) StartReplica(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	r := Start(tb, append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(s.Port)}, extra...)...)
	WaitLinked(tb, s.Client(tb))
	return r
}

// WaitLinked waits up to 10 s until the master rdb has a replica whose acknowledged offset
// is current (WAIT 1 answers 1), and fails the test if none has by then.
func WaitLinked(tb testing.TB, rdb *redis.Client) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n, err := rdb.Wait(ctx, 1, time.Second).Result()
		cancel()
		if err == nil && n >= 1 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the replica did not link within 10 s: %d, %v", n, err)
		}
	}
}

// Set is a master, one replica and three Sentinels watching them under MasterName.
type Set struct {
	MasterName string
	Master     *Server
	Replica    *Server
	Sentinels  []*Server
}

// StartSet starts a Set and waits until every Sentinel knows the replica and the other
// Sentinels, so that a failover can be forced at once.
func StartSet(tb testing.TB) *Set {
	tb.Helper()
	Binary(tb)
	set := &Set{MasterName: "beianscan"}
	set.Master = Start(tb, "--appendonly", "yes", "--appendfsync", "always")
	set.Replica = Start(tb, "--appendonly", "yes", "--appendfsync", "always",
		"--replicaof", "127.0.0.1", strconv.Itoa(set.Master.Port))
	for range 3 {
		dir := tb.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		port := FreePort(tb)
		name := set.MasterName
		// A Sentinel rewrites its configuration file, so each gets its own.
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 2\n", port, dir, name, set.Master.Port) +
			fmt.Sprintf("sentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 10000\nsentinel parallel-syncs %s 1\n", name, name, name)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			tb.Fatal(err)
		}
		s := &Server{tb: tb, bin: Binary(tb), args: []string{conf, "--sentinel"}, Port: port,
			Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
		s.start()
		tb.Cleanup(s.Stop)
		set.Sentinels = append(set.Sentinels, s)
	}
	set.WaitHealthy(tb, set.Master.Addr)
	return set
}

// SentinelAddrs are the Sentinels' addresses.
func (s *Set) SentinelAddrs() []string {
	out := make([]string, len(s.Sentinels))
	for i, x := range s.Sentinels {
		out[i] = x.Addr
	}
	return out
}

// URL is the BEIANSCAN_REDIS_URL of the set, through its Sentinels.
func (s *Set) URL() string {
	addrs := s.SentinelAddrs()
	u := "redis://" + addrs[0] + "/0?master_name=" + s.MasterName
	for _, a := range addrs[1:] {
		u += "&addr=" + a
	}
	return u
}

// MasterAddr asks the first Sentinel that answers for the master's address.
func (s *Set) MasterAddr(tb testing.TB) string {
	tb.Helper()
	for _, x := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: x.Addr})
		a, err := c.GetMasterAddrByName(context.Background(), s.MasterName).Result()
		_ = c.Close()
		if err == nil && len(a) == 2 {
			return net.JoinHostPort(a[0], a[1])
		}
	}
	tb.Fatal("no Sentinel names a master")
	return ""
}

// WaitHealthy waits until every Sentinel names master, sees one replica with its link up,
// and knows the two other Sentinels.
func (s *Set) WaitHealthy(tb testing.TB, master string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, x := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: x.Addr})
		for {
			ok, why := s.healthy(c, master)
			if ok {
				break
			}
			if time.Now().After(deadline) {
				_ = c.Close()
				tb.Fatalf("Sentinel %s: %s", x.Addr, why)
			}
			time.Sleep(100 * time.Millisecond) // Sentinels discover each other by hello messages, every 2 s
		}
		_ = c.Close()
	}
}

func (s *Set) healthy(c *redis.SentinelClient, master string) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err != nil || len(a) != 2 || net.JoinHostPort(a[0], a[1]) != master {
		return false, fmt.Sprintf("master %v (%v), want %s", a, err, master)
	}
	reps, err := c.Replicas(ctx, s.MasterName).Result()
	if err != nil || len(reps) == 0 {
		return false, fmt.Sprintf("no replica known (%v)", err)
	}
	good := 0
	for _, r := range reps {
		if r["master-link-status"] == "ok" && !strings.Contains(r["flags"], "down") && !strings.Contains(r["flags"], "disconnected") {
			good++
		}
	}
	if good == 0 {
		return false, fmt.Sprintf("no good replica: %v", reps)
	}
	sents, err := c.Sentinels(ctx, s.MasterName).Result()
	if err != nil || len(sents) < len(s.Sentinels)-1 {
		return false, fmt.Sprintf("knows %d other Sentinels (%v)", len(sents), err)
	}
	return true, ""
}

// Failover forces a failover (SENTINEL FAILOVER) and waits until the Sentinels name the
// former replica as master. It returns the new master's address.
func (s *Set) Failover(tb testing.TB) string {
	tb.Helper()
	old := s.MasterAddr(tb)
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0].Addr})
	defer c.Close()
	if err := c.Failover(context.Background(), s.MasterName).Err(); err != nil {
		tb.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if a := s.MasterAddr(tb); a != old {
			return a
		}
		if time.Now().After(deadline) {
			tb.Fatal("the Sentinels still name the old master 30 s after SENTINEL FAILOVER")
		}
		time.Sleep(50 * time.Millisecond) // polling the Sentinels, which switch on their own time
	}
}

// Shared is the shared Redis of BEIANSCAN_REDIS_URL when it is set, else an in-process
// miniredis: what most tests run against, both ways in CI. Tests on it use keys of their own
// (random IDs, scopes) and never flush it. The client is closed when the test ends.
func Shared(tb testing.TB) *redis.Client {
	tb.Helper()
	var rdb *redis.Client
	if u := os.Getenv("BEIANSCAN_REDIS_URL"); u != "" {
		o, err := redis.ParseURL(u)
		if err != nil {
			tb.Fatalf("BEIANSCAN_REDIS_URL: %v", err)
		}
		rdb = redis.NewClient(o)
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: miniredis.RunT(tb).Addr()})
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// StartFrom starts a redis-server on a free port that loads the RDB snapshot at rdbPath
// (a backup), as a restore does: the file is copied into a folder of the server's own as
// its dump.rdb. AOF is off at load, as the restore procedure says (with appendonly yes and
// no AOF file, Redis would start empty instead of loading the snapshot).
func StartFrom(tb testing.TB, rdbPath string, extra ...string) *Server {
	tb.Helper()
	b, err := os.ReadFile(rdbPath)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dump.rdb"), b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return Start(tb, append([]string{"--dir", dir, "--dbfilename", "dump.rdb"}, extra...)...)
}
