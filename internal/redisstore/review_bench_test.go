package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// BenchmarkReviewWrites compares a reviewer's decision (orders.Service.Decide: the hold
// checked in the order's transaction, the review recorded, the hold dropped, the queue
// entry and its copy removed in the same transaction on a single Redis, after it on
// Cluster) with an upload's metadata write (the material, its audit entry and
// event in one transaction, as orders.Service.save does), on the same Redis in one run
// (the quality bar in docs/benchmarks.md: a decision costs no more than an upload's metadata write).
func BenchmarkReviewWrites(b *testing.B) {
	rdb := redistest.Shared(b)
	s := New(rdb, 30*time.Minute, WithScope(orderID()))
	ctx := context.Background()
	signer, err := auth.NewSigner([]byte("0123456789abcdef0123456789abcdef"), nil)
	if err != nil {
		b.Fatal(err)
	}
	svc := orders.New(orders.Config{}, s, nil, signer, []byte("secret"))
	person := filing.Person{Name: "张三", IDType: filing.ResidentID, IDNumber: "11010519491231002X", IDValidUntil: filing.LongTerm}
	newOrder := func(state filing.State) string {
		id := orderID()
		o := &filing.Order{ID: id, State: state, Round: 1, SubmittedAt: time.Now(), Version: 1, SubjectType: filing.Individual,
			Province: "CN-GD", SubjectName: "张三", SubjectLeader: person, WebsiteLeader: person, WebsiteLeaderSame: true,
			Domains: []string{"example.com"}, UploadMethod: filing.MethodPC}
		if err := s.CreateOrder(ctx, o, orders.AuditEntry{}); err != nil {
			b.Fatal(err)
		}
		return id
	}
	b.Run("upload-metadata", func(b *testing.B) {
		id := newOrder(filing.StateDraft)
		for i := 0; b.Loop(); i++ {
			m := filing.Material{Slot: filing.SlotVerificationForm, Format: "jpeg", Size: 1 << 20, SHA256: fmt.Sprintf("%064x", i),
				Width: 2000, Height: 1500, Via: filing.ViaPC, UploadedAt: time.Now(), Warnings: []string{}}
			if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
				if err := sn.Order.CheckUpload(m.Slot, m.Via); err != nil {
					return nil, err
				}
				sn.Materials[m.Slot] = m
				sn.Audit = append(sn.Audit, orders.AuditEntry{At: m.UploadedAt, Actor: orders.ActorDesktop, Action: orders.AuditUpload, Slot: m.Slot})
				return []orders.Event{{Type: events.MaterialUploaded, OrderID: id, At: m.UploadedAt, Data: m}}, nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decision", func(b *testing.B) {
		ids := make([]string, b.N)
		for i := range ids {
			ids[i] = newOrder(filing.StateSubmitted)
			if err := rdb.HSet(ctx, rediskeys.Hold(ids[i]), "reviewer", "alice", "until", time.Now().Add(time.Hour).UnixMilli(), "round", 1).Err(); err != nil {
				b.Fatal(err)
			}
		}
		d := filing.Decision{Outcome: filing.OutcomeChanges, Issues: []filing.Issue{
			{Target: filing.IssueMaterial, Slot: filing.SlotVerificationForm, Code: filing.ReasonFormUnsigned}}}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := svc.Decide(ctx, ids[i], "alice", d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
