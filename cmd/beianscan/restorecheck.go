package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/sealbox"
	"github.com/beianscan/beianscan/internal/server"
)

// `beianscan restore-check` runs after Redis was restored from a backup, before the
// instances start (docs/production.md, "Restore"). A backup is of one instant; the blob
// store is of now. Images uploaded since the backup are in the store but in no order: the
// sweeper deletes them. Images replaced or removed since the backup are in the restored
// orders but may be gone from the store; this command finds them, and with -fix removes
// each such material from its order (a `remove` audit entry by the system), so that the
// desktop asks for the image again instead of listing one that cannot be read. A
// submitted or approved order cannot change: it is reported, for its image to be brought
// back from the bucket's versions (versioning is on in docker-compose.yml) or a copy of
// the blob store. It exits 1 while anything is missing and not fixed.
func runRestoreCheck(ctx context.Context, args []string, getenv func(string) string, out io.Writer) int {
	sf := newStorageFlags("beianscan restore-check", getenv, out)
	fs, blobURL, dataDir, redisURL := sf.fs, sf.blobURL, sf.dataDir, sf.redisURL
	fix := fs.Bool("fix", false, "remove each material whose image is missing from its order, where the order's state allows")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *redisURL == "" {
		fmt.Fprintln(out, "beianscan restore-check: BEIANSCAN_REDIS_URL is required")
		return 2
	}
	keys, err := sealbox.Parse(getenv("BEIANSCAN_ENCRYPTION_KEYS"))
	if err != nil {
		fmt.Fprintln(out, "beianscan restore-check: BEIANSCAN_ENCRYPTION_KEYS (the keys of the backup):", err)
		return 2
	}
	raw, _, err := blob.FromURL(ctx, *blobURL, *dataDir, getenv)
	if err != nil {
		fmt.Fprintln(out, "beianscan restore-check:", err)
		return 1
	}
	stored := map[string]bool{}
	if err := raw.List(ctx, func(e blob.Entry) error {
		if e.Kind == blob.Blob {
			stored[e.Key] = true
		}
		return nil
	}); err != nil {
		fmt.Fprintln(out, "beianscan restore-check: listing the blob store:", err)
		return 1
	}
	rdb, err := server.RedisClient(*redisURL)
	if err != nil {
		fmt.Fprintln(out, "beianscan restore-check:", err)
		return 1
	}
	defer rdb.Close()
	store := redisstore.New(rdb, 0, redisstore.WithKeyring(keys))
	ids, err := store.OrderIDs(ctx)
	if err != nil {
		fmt.Fprintln(out, "beianscan restore-check: listing orders:", err)
		return 1
	}
	var checked, missing, dropped, kept int
	for _, id := range ids {
		snap, err := store.Load(ctx, id)
		if err != nil {
			fmt.Fprintf(out, "order %s: %v\n", id, err)
			kept++
			continue
		}
		for slot, m := range snap.Materials {
			checked++
			if stored[blob.Key(id, m.SHA256)] {
				continue
			}
			missing++
			if !*fix {
				fmt.Fprintf(out, "order %s (%s): the image of %s is missing\n", id, snap.Order.State, slot)
				continue
			}
			ok, err := store.DropLostMaterial(ctx, id, slot, m.SHA256, time.Now())
			switch {
			case ok:
				dropped++
				fmt.Fprintf(out, "order %s: %s removed, its image is missing; the desktop will ask for it again\n", id, slot)
			case err != nil:
				kept++
				fmt.Fprintf(out, "order %s (%s): the image of %s is missing and the order cannot change (%v): bring back blob %s from the bucket's versions\n",
					id, snap.Order.State, slot, err, blob.Key(id, m.SHA256))
			}
		}
	}
	fmt.Fprintf(out, "%d orders, %d materials checked: %d images missing, %d removed from their orders, %d left to bring back\n",
		len(ids), checked, missing, dropped, kept)
	if missing > dropped {
		return 1
	}
	return 0
}
