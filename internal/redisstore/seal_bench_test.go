package redisstore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/sealbox"
)

// BenchmarkOrderCodec: what sealing the two ID numbers adds to writing and reading an
// order's JSON (sealed), against the plain JSON of the same order (plain), in one run.
func BenchmarkOrderCodec(b *testing.B) {
	p := filing.Person{Name: "张三", IDType: filing.ResidentID, IDNumber: "11010519491231002X", IDValidUntil: filing.LongTerm}
	o := &filing.Order{ID: "aaaaaaaaaaaaaaaaaaaaaaaaaa", State: filing.StateDraft, Version: 3, SubjectType: filing.Individual,
		Province: "CN-GD", SubjectName: "张三", SubjectLeader: p, WebsiteLeader: p, WebsiteLeaderSame: true,
		Domains: []string{"example.com"}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	s := &Store{ring: sealbox.Random()}
	b.Run("plain", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			raw, _ := json.Marshal(o)
			var back filing.Order
			if err := json.Unmarshal(raw, &back); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sealed", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			raw, _ := s.encodeOrder(o)
			if _, err := s.decodeOrder(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
