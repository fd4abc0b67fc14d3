package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/beianscan/beianscan/internal/redisbackup"
)

// `beianscan backup` takes a consistent snapshot of the Redis of BEIANSCAN_REDIS_URL (the
// master the Sentinels name, with a Sentinel URL) while the instances serve, into -out (a
// file, written durably, or - for standard output: `docker compose exec -T beianscan1
// beianscan backup -out - > beianscan.rdb`, the image having no shell). What else a backup
// needs (the bucket, the keys) and how to restore are in docs/production.md.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("beianscan backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	redisURL := fs.String("redis-url", getenv("BEIANSCAN_REDIS_URL"), "the Redis to back up (BEIANSCAN_REDIS_URL)")
	out := fs.String("out", "", "the snapshot file to write (an RDB file), or - for standard output")
	timeout := fs.Duration("timeout", 30*time.Minute, "how long the snapshot may take")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *redisURL == "" {
		fmt.Fprintln(stderr, "beianscan backup: BEIANSCAN_REDIS_URL is required (the embedded mode keeps nothing to back up)")
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "beianscan backup: -out FILE (or -out -) is required")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	target, err := redisbackup.TargetFromURL(ctx, *redisURL)
	if err != nil {
		fmt.Fprintln(stderr, "beianscan backup:", err)
		return 1
	}
	var n int64
	if *out == "-" {
		n, err = redisbackup.Snapshot(ctx, target, stdout)
	} else {
		n, err = redisbackup.WriteFile(ctx, target, *out, 0)
	}
	if err != nil {
		fmt.Fprintf(stderr, "beianscan backup: snapshot of %s: %v\n", target.Addr, err)
		return 1
	}
	where := *out
	if where == "-" {
		where = "standard output"
	}
	fmt.Fprintf(stderr, "beianscan backup: snapshot of %s taken at %s: %d bytes to %s\n", target.Addr, time.Now().UTC().Format(time.RFC3339), n, where)
	return 0
}
