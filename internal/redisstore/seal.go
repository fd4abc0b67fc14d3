package redisstore

import (
	"encoding/json"
	"fmt"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/sealbox"
)

// The order JSON is filing.Order's JSON with each person's id_number sealed. Everything
// else stays plain: claim.lua reads state, upload_method and province from it.

// Who an ID number belongs to, as the JSON names the person. With the order's ID it is the
// sealing context, so a sealed number copied into another order or onto the other person
// does not open.
const (
	subjectLeader = "subject_leader"
	websiteLeader = "website_leader"
)

func idContext(orderID, person string) string {
	return "beianscan/order/" + orderID + "/" + person + "/id_number"
}

func (s *Store) encodeOrder(o *filing.Order) ([]byte, error) {
	c := *o
	c.SubjectLeader.IDNumber = s.ring.SealString(o.SubjectLeader.IDNumber, idContext(o.ID, subjectLeader))
	c.WebsiteLeader.IDNumber = s.ring.SealString(o.WebsiteLeader.IDNumber, idContext(o.ID, websiteLeader))
	return json.Marshal(&c)
}

// decodeOrder opens the ID numbers. A number not sealed at all was written before
// encryption was turned on; it is read as it is until ReencryptIDs or the next change
// seals it.
func (s *Store) decodeOrder(raw []byte) (*filing.Order, error) {
	var o filing.Order
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("redisstore: order: %w", err)
	}
	for _, p := range []struct {
		person string
		n      *string
	}{{subjectLeader, &o.SubjectLeader.IDNumber}, {websiteLeader, &o.WebsiteLeader.IDNumber}} {
		if !sealbox.IsSealedString(*p.n) {
			continue
		}
		plain, err := s.ring.OpenString(*p.n, idContext(o.ID, p.person))
		if err != nil {
			// The error names the key, never the number.
			return nil, fmt.Errorf("redisstore: order %s: %s's ID number: %w", o.ID, p.person, err)
		}
		*p.n = plain
	}
	return &o, nil
}
