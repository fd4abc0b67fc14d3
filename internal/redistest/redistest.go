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
	"slices"
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

// Cluster is a Redis Cluster of masters, each with its replicas, all private processes.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts masters×(1+replicas) redis-servers with cluster mode on free ports
// (append-only, fsync always, as production's), joins them into one cluster
// (redis-cli --cluster create, which gives each master its replicas) and waits until every
// node says the cluster is ok and every master's replicas have synchronised, so that a
// write confirmed by WAIT 1 can be made at once.
func StartCluster(tb testing.TB, masters, replicas int) *Cluster {
	tb.Helper()
	Binary(tb)
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		tb.Skip("redis-cli not found: install redis-server (Debian/Ubuntu: apt-get install redis-server) to run this Cluster fault test")
	}
	c := &Cluster{}
	addrs := make([]string, 0, masters*(1+replicas))
	for range masters * (1 + replicas) {
		// The bus port is chosen free too: by default it is the port + 10000, which may be a
		// client's ephemeral port of the moment on a busy machine (the node then exits).
		s := Start(tb, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(FreePort(tb)),
			"--cluster-node-timeout", "2000", "--appendonly", "yes", "--appendfsync", "always")
		c.Nodes = append(c.Nodes, s)
		addrs = append(addrs, s.Addr)
	}
	args := append(append([]string{"--cluster", "create"}, addrs...),
		"--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitHealthy(tb, masters, replicas)
	return c
}

// Client is a Cluster client on every node with the slot map loaded, closed with the test.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	tb.Cleanup(func() { _ = cc.Close() })
	cc.ReloadState(context.Background())
	return cc
}

// URL is the BEIANSCAN_REDIS_URL of the cluster: every node, as ?addr= (the Cluster form).
func (c *Cluster) URL() string {
	u := "redis://" + c.Nodes[0].Addr
	for i, n := range c.Nodes[1:] {
		if i == 0 {
			u += "?addr=" + n.Addr
		} else {
			u += "&addr=" + n.Addr
		}
	}
	return u
}

// node is one line of CLUSTER NODES as a node sees it.
type node struct {
	id, addr, master string // master: the ID of its master, "" for a master
	ok               bool   // connected, not failing
}

func clusterNodes(ctx context.Context, addr string) ([]node, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rc.Close()
	text, err := rc.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, err
	}
	var out []node
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		n := node{id: f[0], addr: strings.SplitN(f[1], "@", 2)[0], ok: f[7] == "connected" &&
			!strings.Contains(f[2], "fail") && !strings.Contains(f[2], "handshake") && !strings.Contains(f[2], "noaddr")}
		if f[3] != "-" {
			n.master = f[3]
		}
		out = append(out, n)
	}
	return out, nil
}

// Masters returns the masters' addresses as the first node that answers sees them.
func (c *Cluster) Masters(tb testing.TB) []string {
	tb.Helper()
	for _, s := range c.Nodes {
		ns, err := clusterNodes(context.Background(), s.Addr)
		if err != nil {
			continue
		}
		var out []string
		for _, n := range ns {
			if n.master == "" {
				out = append(out, n.addr)
			}
		}
		return out
	}
	tb.Fatal("no cluster node answers CLUSTER NODES")
	return nil
}

// WaitHealthy waits up to 30 s until every node says cluster_state:ok and sees the same
// masters (masters of them), each with replicas connected replicas, and until each
// master's replicas have acknowledged its current offset (WAIT answers replicas).
func (c *Cluster) WaitHealthy(tb testing.TB, masters, replicas int) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	why := ""
	for {
		if why = c.healthy(masters, replicas); why == "" {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the cluster is not healthy after 30 s: %s", why)
		}
		time.Sleep(100 * time.Millisecond) // nodes agree by gossip on the cluster bus
	}
}

func (c *Cluster) healthy(masters, replicas int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var view string
	for _, s := range c.Nodes {
		rc := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
		info, err := rc.ClusterInfo(ctx).Result()
		_ = rc.Close()
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			return fmt.Sprintf("%s: not cluster_state:ok (%v)", s.Addr, err)
		}
		ns, err := clusterNodes(ctx, s.Addr)
		if err != nil {
			return fmt.Sprintf("%s: CLUSTER NODES: %v", s.Addr, err)
		}
		byID := map[string]string{}
		for _, n := range ns {
			byID[n.id] = n.addr
		}
		shards := map[string]int{}
		for _, n := range ns {
			if !n.ok {
				return fmt.Sprintf("%s sees %s not connected", s.Addr, n.addr)
			}
			if n.master == "" {
				shards[n.addr] += 0
			} else {
				shards[byID[n.master]]++
			}
		}
		var ms []string
		for m, r := range shards {
			if r != replicas {
				return fmt.Sprintf("%s sees master %s with %d replicas", s.Addr, m, r)
			}
			ms = append(ms, m)
		}
		if len(ms) != masters {
			return fmt.Sprintf("%s sees %d masters", s.Addr, len(ms))
		}
		slices.Sort(ms)
		v := strings.Join(ms, ",")
		if view != "" && v != view {
			return fmt.Sprintf("the nodes disagree on the masters: %s, %s", view, v)
		}
		view = v
	}
	for _, m := range strings.Split(view, ",") {
		rc := redis.NewClient(&redis.Options{Addr: m, MaxRetries: -1})
		n, err := rc.Wait(ctx, replicas, time.Second).Result()
		_ = rc.Close()
		if err != nil || n < int64(replicas) {
			return fmt.Sprintf("master %s: WAIT %d answered %d (%v)", m, replicas, n, err)
		}
	}
	return ""
}

// Failover sends CLUSTER FAILOVER (the manual, coordinated kind: the replica catches up
// with its master's offset before they swap) to a replica of master, and waits until the
// replica says it is master. It returns the new master's address.
func (c *Cluster) Failover(tb testing.TB, master string) string {
	tb.Helper()
	ctx := context.Background()
	ns, err := clusterNodes(ctx, master)
	if err != nil {
		tb.Fatalf("CLUSTER NODES on %s: %v", master, err)
	}
	var masterID, replica string
	for _, n := range ns {
		if n.addr == master {
			masterID = n.id
		}
	}
	for _, n := range ns {
		if n.master == masterID && masterID != "" {
			replica = n.addr
			break
		}
	}
	if replica == "" {
		tb.Fatalf("master %s has no replica", master)
	}
	rc := redis.NewClient(&redis.Options{Addr: replica, MaxRetries: -1})
	defer rc.Close()
	if err := rc.ClusterFailover(ctx).Err(); err != nil {
		tb.Fatalf("CLUSTER FAILOVER on %s: %v", replica, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := rc.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "role:master") {
			return replica
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s is not master 20 s after CLUSTER FAILOVER", replica)
		}
		time.Sleep(20 * time.Millisecond) // polling the replica, which switches on its own time
	}
}
