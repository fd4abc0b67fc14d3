package server_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
)

// Why BenchmarkClaimHTTP flatters the claim (0.64–0.89 of /healthz there, 0.20 from
// outside): its client runs in the server's process, so the two share one Go scheduler and
// one GC — the client's cost of a request, the same for both routes, weighs on /healthz
// (where it is most of the work) far more than on the claim, narrowing the gap; its 50
// goroutines on one keep-alive transport reuse warm connections, which a phone claiming once
// does not have; and its codes are all of orders with no materials, read back from a Redis
// that other benchmarks are not loading. BenchmarkClaimHTTPOutside sends both from another
// process, as phones do, over fresh connections or kept-alive ones.

// BenchmarkClaimHTTPOutside claims b.N fresh pairings over HTTP from another process (the
// test binary re-executed: TestHelperHTTPLoad), 32 workers, then sends the same number of
// GET /healthz from the same client, and reports both rates and their ratio (the bar: at
// least 0.5). conns=fresh opens a connection per request, as a phone that claims once does;
// conns=reused keeps 32 alive. BEIANSCAN_CLAIM_CPUPROFILE and BEIANSCAN_CLAIM_MEMPROFILE
// profile the server (this process) during the claims, BEIANSCAN_CLAIM_CLIENT_CPUPROFILE the
// client process of each route; BEIANSCAN_CLAIM_CLIENT_PROCS sets the client's GOMAXPROCS.
// The server runs with the command's GOMAXPROCS (procsAsTheCommand).
//
//	go test ./internal/server -run '^$' -bench ClaimHTTPOutside -benchtime 3000x -count 3
func BenchmarkClaimHTTPOutside(b *testing.B) {
	for _, conns := range []string{"fresh", "reused"} {
		b.Run("conns="+conns, func(b *testing.B) {
			defer procsAsTheCommand()()
			m := benchServer(b)
			var bodies bytes.Buffer
			for i := 0; i < b.N; i++ {
				o := createOrder(b, m, gdIndividual())
				p := pairApp(b, o)
				_, code, _ := appsim.ParseScanURL(p["scan_url"].(string))
				body, _ := json.Marshal(map[string]string{"code": code})
				bodies.Write(body)
				bodies.WriteByte('\n')
			}
			file := filepath.Join(b.TempDir(), "bodies")
			if err := os.WriteFile(file, bodies.Bytes(), 0o600); err != nil {
				b.Fatal(err)
			}
			trips := countTrips(m.Redis)
			stop := profileCPU(b, os.Getenv("BEIANSCAN_CLAIM_CPUPROFILE"), conns)
			// /healthz before and after the claims, their mean the reference: the machine's
			// load moves within a run.
			healthz1 := loadFromOutside(b, m, outsideLoad{url: m.URL + "/healthz", n: b.N, conns: conns})
			b.ResetTimer()
			trips.n.Store(0)
			allocs := countAllocs(b, os.Getenv("BEIANSCAN_CLAIM_MEMPROFILE"), conns)
			claims := loadFromOutside(b, m, outsideLoad{url: m.URL + "/m/v1/pairings/claim", bodies: file, n: b.N, conns: conns})
			b.StopTimer()
			b.ReportMetric(float64(allocs())/float64(b.N), "server-allocs/claim")
			stop()
			b.ReportMetric(float64(trips.n.Load())/float64(b.N), "redis-round-trips/claim")
			healthz2 := loadFromOutside(b, m, outsideLoad{url: m.URL + "/healthz", n: b.N, conns: conns})
			healthz := healthz1.add(healthz2)
			b.ReportMetric(claims.perSecond, "claims/s")
			b.ReportMetric(healthz.perSecond, "healthz/s")
			b.ReportMetric(claims.perSecond/healthz.perSecond, "claims/healthz")
			// Where the CPU goes, per request (µs): the client process, the server process and
			// Redis, each measured over its own phase.
			b.ReportMetric(claims.client, "client-µs/claim")
			b.ReportMetric(claims.server, "server-µs/claim")
			b.ReportMetric(claims.redis, "redis-µs/claim")
			b.ReportMetric(healthz.client, "client-µs/healthz")
			b.ReportMetric(healthz.server, "server-µs/healthz")
		})
	}
}

// tripCounter counts a client's round trips to Redis: each command sent alone and each
// pipeline (a transaction included) is one.
type tripCounter struct{ n atomic.Int64 }

func (c *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

func countTrips(rdb redis.UniversalClient) *tripCounter {
	c := &tripCounter{}
	rdb.AddHook(c)
	return c
}

// profileCPU writes a CPU profile of this process (the server: the client is elsewhere) to
// path with the case's name when path is set, until the returned func is called.
func profileCPU(b *testing.B, path, name string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path + "." + name)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// load is what loadFromOutside measured: requests per second, and the CPU time per
// request (µs) of the client process, of this process (the server) and of Redis.
type load struct{ perSecond, client, server, redis float64 }

// add is the mean of two runs of the same size.
func (l load) add(o load) load {
	return load{(l.perSecond + o.perSecond) / 2, (l.client + o.client) / 2, (l.server + o.server) / 2, (l.redis + o.redis) / 2}
}

// countAllocs counts this process's allocations until the returned func is called; with
// path set it also writes the allocation profiles at both ends (path.name.0 and .1: compare
// them with pprof -base).
func countAllocs(b *testing.B, path, name string) func() uint64 {
	write := func(i int) {
		if path == "" {
			return
		}
		f, err := os.Create(fmt.Sprintf("%s.%s.%d", path, name, i))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
	var ms runtime.MemStats
	write(0)
	runtime.ReadMemStats(&ms)
	before := ms.Mallocs
	return func() uint64 {
		runtime.ReadMemStats(&ms)
		write(1)
		return ms.Mallocs - before
	}
}

// outsideLoad is what TestHelperHTTPLoad sends: n requests to url, a POST of each line of
// the file bodies (a claim) or GETs without it, with auth as the Authorization header when
// set; conns is "fresh" (a connection per request) or "reused"; workers is how many send at
// once (32 when 0).
type outsideLoad struct {
	url, bodies, auth, conns string
	n, workers               int
}

// loadFromOutside runs TestHelperHTTPLoad in a child process with l against m and returns
// its requests per second and CPU costs (Redis's from m's own Redis).
func loadFromOutside(b *testing.B, m *server.Main, l outsideLoad) load {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHTTPLoad$")
	cmd.Env = append(os.Environ(), "BEIANSCAN_LOAD_URL="+l.url, "BEIANSCAN_LOAD_BODIES="+l.bodies,
		"BEIANSCAN_LOAD_N="+strconv.Itoa(l.n), "BEIANSCAN_LOAD_CONNS="+l.conns, "BEIANSCAN_LOAD_AUTH="+l.auth,
		"BEIANSCAN_LOAD_WORKERS="+strconv.Itoa(cmp.Or(l.workers, 32)))
	// The client's GOMAXPROCS: with both cores, its idle threads spin looking for work
	// while its requests wait on the server, CPU taken from the server's cores that a
	// phone (elsewhere) never takes.
	if p := os.Getenv("BEIANSCAN_CLAIM_CLIENT_PROCS"); p != "" {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+p)
	}
	if p := os.Getenv("BEIANSCAN_CLAIM_CLIENT_CPUPROFILE"); p != "" {
		route := "healthz"
		if l.bodies != "" {
			route = "claim"
		}
		cmd.Env = append(cmd.Env, "BEIANSCAN_LOAD_CPUPROFILE="+p+"."+l.conns+"."+route)
	}
	n := l.n
	redis0, self0 := redisCPU(m.Redis), selfCPU()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("load: %v\n%s", err, out)
	}
	redis1, self1 := redisCPU(m.Redis), selfCPU()
	client := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "load: "); ok {
			var done, failed int
			var ns int64
			fmt.Sscan(rest, &done, &failed, &ns)
			if failed > 0 || done != n {
				b.Fatalf("load: %d of %d answered as wanted, %d not\n%s", done, n, failed, out)
			}
			return load{float64(done) / time.Duration(ns).Seconds(), per(client), per(self1 - self0), per(redis1 - redis0)}
		}
	}
	b.Fatalf("load: no result\n%s", out)
	return load{}
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time the server's Redis has used (INFO cpu; 0 with miniredis, which
// has no such section and whose cost is then the server's).
func redisCPU(c redis.UniversalClient) time.Duration {
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// TestHelperHTTPLoad is the other-process client of the Outside benchmarks (outsideLoad):
// with BEIANSCAN_LOAD_URL set, BEIANSCAN_LOAD_WORKERS workers send BEIANSCAN_LOAD_N requests
// in all (a POST of each line of the file BEIANSCAN_LOAD_BODIES as a claim, or GETs without
// it, with BEIANSCAN_LOAD_AUTH as their Authorization), each wanting 200, and print
// "load: done failed nanoseconds". Without the variable it does nothing. With
// BEIANSCAN_LOAD_CPUPROFILE it writes its CPU profile there (the benchmark passes
// BEIANSCAN_CLAIM_CLIENT_CPUPROFILE on, one file per case and route).
func TestHelperHTTPLoad(t *testing.T) {
	url := os.Getenv("BEIANSCAN_LOAD_URL")
	if url == "" {
		t.Skip("the benchmark's helper process")
	}
	n, _ := strconv.Atoi(os.Getenv("BEIANSCAN_LOAD_N"))
	var bodies [][]byte
	if f := os.Getenv("BEIANSCAN_LOAD_BODIES"); f != "" {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			bodies = append(bodies, bytes.Clone(sc.Bytes()))
		}
		fh.Close()
	}
	if p := os.Getenv("BEIANSCAN_LOAD_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	workers, _ := strconv.Atoi(os.Getenv("BEIANSCAN_LOAD_WORKERS"))
	auth := os.Getenv("BEIANSCAN_LOAD_AUTH")
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers,
		DisableKeepAlives: os.Getenv("BEIANSCAN_LOAD_CONNS") == "fresh"}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next, done, failed atomic.Int64
	var firstErr sync.Once
	t0 := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var r *http.Request
				if bodies != nil {
					r, _ = http.NewRequest("POST", url, bytes.NewReader(bodies[i]))
					r.Header.Set("Content-Type", "application/json")
					r.Header.Set("X-App-Version", "3.16.0")
					r.Header.Set("X-Device-Id", "bench-device")
				} else {
					r, _ = http.NewRequest("GET", url, nil)
				}
				if auth != "" {
					r.Header.Set("Authorization", auth)
				}
				resp, err := client.Do(r)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
					firstErr.Do(func() { fmt.Println("first failure:", err, resp) })
					continue
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("load: %d %d %d\n", done.Load(), failed.Load(), time.Since(t0).Nanoseconds())
}
