package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/sealbox"
	"github.com/beianscan/beianscan/internal/server"
)

// `beianscan reencrypt` moves everything encrypted at rest to the first key of
// BEIANSCAN_ENCRYPTION_KEYS (docs/operations.md, Privacy), so that an old key can then be dropped from the
// list. It is a list of steps, one per kind of sealed data; each step is
//
//   - resumable: it skips what is already under the first key, so an interrupted run is
//     simply run again, and a second run changes nothing;
//   - safe beside live instances: each item is rewritten in one atomic, durable write
//     (temporary file + fsync + rename on disk, one PutObject on S3) that replaces the old
//     bytes only once the new ones are stored, so there is never a moment without a
//     readable copy. Live instances must already have the new key list (the new first key
//     included) before it runs, so that they can read what it writes. A blob that an
//     instance deletes (a replaced image) between the step's read and its write comes back
//     unreferenced; the sweeper deletes it again after the age rule.
//
// Run it with the same environment as the service (BEIANSCAN_BLOB_URL, BEIANSCAN_DATA_DIR,
// BEIANSCAN_ENCRYPTION_KEYS, BEIANSCAN_REDIS_URL, AWS_*).
//
// The seam for other kinds of sealed data (the full ID numbers in Redis): implement
// reencrypter and append the step in reencryptSteps.

// reencrypter is one step of the subcommand.
type reencrypter interface {
	// Name names what the step moves, for the report ("blobs", "id numbers").
	Name() string
	// Reencrypt moves every item not under the first key to it. It carries on past an
	// item that fails and returns the counts with the joined errors.
	Reencrypt(ctx context.Context) (reencryptStats, error)
}

type reencryptStats struct {
	Checked, Changed, Failed int
}

// reencryptEnv is what the steps are built from.
type reencryptEnv struct {
	keys     *sealbox.Keyring
	blobURL  string
	dataDir  string
	redisURL string
	// retention is given to orders stored without an expiry (written before retention).
	retention time.Duration
	getenv    func(string) string
}

// reencryptSteps lists the steps in the order they run.
func reencryptSteps(ctx context.Context, env reencryptEnv) ([]reencrypter, error) {
	raw, _, err := blob.FromURL(ctx, env.blobURL, env.dataDir, env.getenv)
	if err != nil {
		return nil, err
	}
	steps := []reencrypter{blobStep{raw: raw, sealed: blob.NewSealed(raw, env.keys)}}
	if env.redisURL == "" {
		// The embedded mode keeps no ID number beyond the process.
		return steps, nil
	}
	rdb, err := server.RedisClient(env.redisURL)
	if err != nil {
		return nil, err
	}
	store := redisstore.New(rdb, 0, redisstore.WithKeyring(env.keys), redisstore.WithRetention(env.retention))
	return append(steps, idStep{store: store, keys: env.keys}), nil
}

// storageFlags are the flags of the subcommands that work on the service's stores, each
// defaulting to the service's variable: they run with the same environment.
type storageFlags struct {
	fs                         *flag.FlagSet
	blobURL, dataDir, redisURL *string
}

func newStorageFlags(name string, getenv func(string) string, out io.Writer) storageFlags {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return storageFlags{fs: fs,
		blobURL:  fs.String("blob-url", env("BEIANSCAN_BLOB_URL", ""), "blob store (BEIANSCAN_BLOB_URL)"),
		dataDir:  fs.String("data-dir", env("BEIANSCAN_DATA_DIR", server.DefaultDataDir), "blob storage folder (BEIANSCAN_DATA_DIR)"),
		redisURL: fs.String("redis-url", env("BEIANSCAN_REDIS_URL", ""), "Redis (BEIANSCAN_REDIS_URL)"),
	}
}

// runReencrypt is the subcommand; it returns the exit code.
func runReencrypt(ctx context.Context, args []string, getenv func(string) string, out io.Writer) int {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	sf := newStorageFlags("beianscan reencrypt", getenv, out)
	fs, blobURL, dataDir, redisURL := sf.fs, sf.blobURL, sf.dataDir, sf.redisURL
	retentionRaw := fs.String("retention", env("BEIANSCAN_RETENTION", duration(redisstore.DefaultRetention)), "retention given to orders stored without one (BEIANSCAN_RETENTION)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	retention, err := time.ParseDuration(*retentionRaw)
	if err != nil || retention <= 0 {
		fmt.Fprintf(out, "beianscan reencrypt: BEIANSCAN_RETENTION: %q is not a positive Go duration\n", *retentionRaw)
		return 2
	}
	spec := getenv("BEIANSCAN_ENCRYPTION_KEYS")
	if spec == "" {
		fmt.Fprintln(out, "beianscan reencrypt: BEIANSCAN_ENCRYPTION_KEYS is required: the new key first, then the old ones")
		return 2
	}
	keys, err := sealbox.Parse(spec)
	if err != nil {
		fmt.Fprintln(out, "beianscan reencrypt: BEIANSCAN_ENCRYPTION_KEYS:", err)
		return 2
	}
	steps, err := reencryptSteps(ctx, reencryptEnv{keys: keys, blobURL: *blobURL, dataDir: *dataDir, redisURL: *redisURL, retention: retention, getenv: getenv})
	if err != nil {
		fmt.Fprintln(out, "beianscan reencrypt:", err)
		return 1
	}
	code := 0
	for _, s := range steps {
		st, err := s.Reencrypt(ctx)
		fmt.Fprintf(out, "%s: %d checked, %d re-encrypted under key %q, %d failed\n", s.Name(), st.Checked, st.Changed, keys.Primary(), st.Failed)
		if err != nil {
			fmt.Fprintf(out, "%s: %v\n", s.Name(), err)
			code = 1
		}
	}
	if code != 0 {
		fmt.Fprintln(out, "some items were not moved: fix the cause and run `beianscan reencrypt` again (it skips what is done); keep the old keys until it succeeds")
	}
	return code
}

// blobStep re-encrypts the images.
type blobStep struct {
	raw    blob.Store
	sealed *blob.Sealed
}

func (blobStep) Name() string { return "blobs" }

func (b blobStep) Reencrypt(ctx context.Context) (reencryptStats, error) {
	var st reencryptStats
	var keys []string
	err := b.raw.List(ctx, func(e blob.Entry) error {
		if e.Kind == blob.Blob {
			keys = append(keys, e.Key)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	var errs []error
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		st.Checked++
		changed, err := b.sealed.Reseal(ctx, k)
		switch {
		case err != nil:
			st.Failed++
			// A blob no configured key opens, or damaged: say which, and go on.
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
		case changed:
			st.Changed++
		}
	}
	return st, errors.Join(errs...)
}

// idStep re-encrypts the full ID numbers in Redis, and gives orders stored before retention
// existed their expiry.
type idStep struct {
	store *redisstore.Store
	keys  *sealbox.Keyring
}

func (idStep) Name() string { return "id numbers" }

func (i idStep) Reencrypt(ctx context.Context) (reencryptStats, error) {
	changed, err := i.store.ReencryptIDs(ctx, i.keys)
	st := reencryptStats{Changed: changed}
	if err != nil {
		st.Failed = 1
		return st, err
	}
	if _, err := i.store.ApplyRetention(ctx); err != nil {
		st.Failed = 1
		return st, err
	}
	return st, nil
}
