package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/sealbox"
)

// TestCheckFormat: an absent format key (data of a release before it existed) and the
// current format are read, and the key is then the current format; a newer or damaged
// format is refused and left as it was.
func TestCheckFormat(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			for _, tt := range []struct {
				name, stored string // "" = no key
				found        int
				refused      bool
				after        string
			}{
				{"absent", "", 0, false, "1"},
				{"current", "1", 1, false, "1"},
				{"newer", "2", 2, true, "2"},
				{"damaged", "one", 0, true, "one"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					ctx := context.Background()
					rdb := open(t)
					if tt.stored != "" {
						rdb.Set(ctx, rediskeys.Format, tt.stored, 0)
					}
					found, err := redisstore.New(rdb, 0).CheckFormat(ctx)
					if found != tt.found || errors.Is(err, redisstore.ErrFormat) != tt.refused || (!tt.refused && err != nil) {
						t.Errorf("found %d, err %v; want %d, refused %v", found, err, tt.found, tt.refused)
					}
					if got := rdb.Get(ctx, rediskeys.Format).Val(); got != tt.after {
						t.Errorf("format key %q after the check, want %q", got, tt.after)
					}
				})
			}
		})
	}
}

// TestReadPreviousFormat stores an order by hand as the release before the format key
// wrote it (format 0: ID numbers in clear, no expiry, a pairing without the fields added
// since, an audit stream) and reads it with this release: order, materials, pairing and
// audit come back as written, the sweeper's view keeps its image, and the next change
// seals the ID number and starts the retention.
func TestReadPreviousFormat(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			rdb := open(t)
			const id = "ord_format0"
			const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
			rdb.Set(ctx, rediskeys.Order(id), `{"id":"ord_format0","state":"draft","version":0,"subject_type":"individual",`+
				`"province":"CN-GD","subject_name":"张三","subject_leader":{"name":"张三","id_type":"resident_id",`+
				`"id_number":"11010519491231002X","id_valid_until":"long_term"},"website_leader":{"name":"张三",`+
				`"id_type":"resident_id","id_number":"11010519491231002X","id_valid_until":"long_term"},`+
				`"website_leader_same_as_subject_leader":true,"domains":["example.com"],"domain_registered_here":false,`+
				`"upload_method":"app","created_at":"2026-01-05T08:00:00Z","updated_at":"2026-01-05T08:10:00Z"}`, 0)
			rdb.Set(ctx, rediskeys.Version(id), 3, 0)
			rdb.HSet(ctx, rediskeys.Materials(id), "face_photo", `{"slot":"face_photo","format":"jpeg","size":1234,`+
				`"sha256":"`+sha+`","width":800,"height":1000,"via":"app","uploaded_at":"2026-01-05T08:09:00Z","warnings":[]}`)
			rdb.HSet(ctx, rediskeys.Pairing(id), map[string]any{"id": "pair_1", "code_hash": "abc", "created_at": "1767600000000",
				"expires_at": "1767600300000", "expired": "0", "device": "dev_1", "app_version": "3.16.0",
				"claimed_at": "1767600060000", "completed": "0", "desktop_ip": "203.0.113.7"})
			rdb.XAdd(ctx, &redis.XAddArgs{Stream: rediskeys.Audit(id), Values: []any{"at", "1767600000000", "actor", "desktop", "action", "create", "slot", "", "ip", "203.0.113.7"}})
			rdb.XAdd(ctx, &redis.XAddArgs{Stream: rediskeys.Audit(id), Values: []any{"at", "1767600540000", "actor", "phone", "action", "upload", "slot", "face_photo", "ip", "198.51.100.2"}})

			ring, err := sealbox.Parse("k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
			if err != nil {
				t.Fatal(err)
			}
			st := redisstore.New(rdb, 0, redisstore.WithKeyring(ring), redisstore.WithRetention(time.Hour))
			if found, err := st.CheckFormat(ctx); found != 0 || err != nil {
				t.Fatalf("CheckFormat = %d, %v; want format 0 read", found, err)
			}
			snap, err := st.Load(ctx, id)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			o := snap.Order
			if o.Version != 3 || o.State != filing.StateDraft || o.SubjectLeader.IDNumber != "11010519491231002X" || o.UploadMethod != filing.MethodApp {
				t.Errorf("order read as %+v", o)
			}
			m, ok := snap.Materials[filing.Slot("face_photo")]
			if !ok || m.SHA256 != sha || m.Width != 800 || m.Via != filing.ViaApp {
				t.Errorf("material read as %+v", snap.Materials)
			}
			p := snap.Pairing
			if p == nil || p.ID != "pair_1" || p.DeviceID != "dev_1" || p.DeviceName != "" || p.ClaimedAt.IsZero() || p.Desktop.UserAgent != "" {
				t.Errorf("pairing read as %+v", p)
			}
			audit, err := st.Audit(ctx, id)
			if err != nil || len(audit) != 2 || audit[1].Action != "upload" || audit[1].Slot != "face_photo" || audit[1].Actor != "phone" {
				t.Errorf("audit read as %+v, %v", audit, err)
			}
			hashes, exists, err := st.MaterialHashes(ctx, id)
			if err != nil || !exists || !hashes[sha] {
				t.Errorf("MaterialHashes = %v, %v, %v: the sweeper would delete a referenced image", hashes, exists, err)
			}

			// The next change writes the current format: sealed number, retention.
			if _, err := st.Update(ctx, id, func(s *orders.Snapshot) ([]orders.Event, error) {
				s.Order.UpdatedAt = s.Order.UpdatedAt.Add(time.Minute)
				return nil, nil
			}); err != nil {
				t.Fatalf("Update: %v", err)
			}
			raw := rdb.Get(ctx, rediskeys.Order(id)).Val()
			if strings.Contains(raw, "11010519491231002X") {
				t.Error("the ID number is still in clear after a change")
			}
			if ttl := rdb.TTL(ctx, rediskeys.Order(id)).Val(); ttl <= 0 {
				t.Errorf("order TTL %v after a change, want the retention", ttl)
			}
			if again, err := st.Load(ctx, id); err != nil || again.Order.SubjectLeader.IDNumber != "11010519491231002X" {
				t.Errorf("reload after the change: %v", err)
			}
		})
	}
}
