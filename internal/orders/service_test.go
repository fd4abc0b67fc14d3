package orders

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
)

// These tests run the service against function-field fakes of its two stores, so that
// each can stage what a real store does between two reads (another writer moving the
// order on) and count what reaches the blob store.

var testNow = time.Date(2026, time.March, 15, 10, 30, 0, 0, time.UTC)

const secret = "orders-test-secret-0123456789-0123456789"

// memStore is an in-memory Store: one order, Update applied to a copy and written back
// with the version bumped, as redisstore does. Methods no test needs are left to the
// embedded nil interface and panic if called.
type memStore struct {
	Store
	mu     sync.Mutex
	snap   *Snapshot
	events []Event
	// beforeUpdate, when set, runs on the stored snapshot before each Update's change: it
	// stands for another writer that got in between the service's read and its write.
	beforeUpdate func(*Snapshot)
	// loads counts Load calls.
	loads int
}

func (m *memStore) Load(_ context.Context, id string) (*Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	if m.snap == nil || m.snap.Order.ID != id {
		return nil, filing.ErrOrderNotFound
	}
	return clone(m.snap), nil
}

func (m *memStore) Update(_ context.Context, id string, change func(*Snapshot) ([]Event, error)) (*Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snap == nil || m.snap.Order.ID != id {
		return nil, filing.ErrOrderNotFound
	}
	if m.beforeUpdate != nil {
		m.beforeUpdate(m.snap)
	}
	s := clone(m.snap)
	evs, err := change(s)
	if errors.Is(err, ErrUnchanged) {
		return clone(m.snap), nil
	}
	if err != nil {
		return nil, err
	}
	s.Order.Version++
	for i := range evs {
		evs[i].Version = s.Order.Version
	}
	m.events = append(m.events, evs...)
	m.snap = s
	return clone(s), nil
}

func clone(s *Snapshot) *Snapshot {
	o := *s.Order
	c := &Snapshot{Order: &o, Materials: maps.Clone(s.Materials)}
	if s.Pairing != nil {
		p := *s.Pairing
		c.Pairing = &p
	}
	return c
}

// memBlobs counts what is stored and deleted.
type memBlobs struct {
	mu      sync.Mutex
	data    map[string][]byte
	deleted []string
	putErr  error
}

func (b *memBlobs) Put(_ context.Context, key string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.putErr != nil {
		return b.putErr
	}
	if b.data == nil {
		b.data = map[string][]byte{}
	}
	b.data[key] = bytes.Clone(data)
	return nil
}

func (b *memBlobs) Delete(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.data, key)
	b.deleted = append(b.deleted, key)
	return nil
}

func (b *memBlobs) keys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.data))
}

func newService(t *testing.T, store Store, blobs Blobs) *Service {
	t.Helper()
	clock := func() time.Time { return testNow }
	signer, err := auth.NewSigner([]byte(secret), clock)
	if err != nil {
		t.Fatal(err)
	}
	// What server.Config.withDefaults would hand the service.
	return New(Config{
		PublicURL: DefaultPublicURL, PairingTTL: DefaultPairingTTL, PhoneTokenTTL: DefaultPhoneTokenTTL,
		DesktopTokenTTL: DefaultDesktopTokenTTL, MinAppVersion: DefaultMinAppVersion, AppProvinces: filing.DefaultAppProvinces,
		Now: clock,
	}, store, blobs, signer, []byte(secret))
}

// pcOrder is a Guangdong individual's order with the PC method chosen: it needs the ID's
// two sides and the verification form.
func pcOrder(t *testing.T) *Snapshot {
	t.Helper()
	o, err := filing.NewOrder("aaaaaaaaaaaaaaaaaaaaaaaaaa", filing.NewOrderInput{
		SubjectType: filing.Individual, Province: "CN-GD", SubjectName: "张三",
		SubjectLeader: filing.Person{Name: "张三", IDType: filing.ResidentID,
			IDNumber: "11010519491231002X", IDValidUntil: filing.LongTerm},
		WebsiteLeaderSame: true, Domains: []string{"example.com"},
	}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.ChooseMethod(filing.MethodPC, true, testNow); err != nil {
		t.Fatal(err)
	}
	return &Snapshot{Order: o, Materials: map[filing.Slot]filing.Material{}}
}

// photo is a colourful noise PNG the image checks accept; seeds give different bytes.
func photo(t *testing.T, seed uint64) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	img := image.NewNRGBA(image.Rect(0, 0, 320, 320))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255
	}
	img.Set(0, 0, color.NRGBA{A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestUploadRechecksAfterValidation: an image is checked outside the store's transaction,
// so the order may move on meanwhile; the write must check again, answer the new state's
// error, record nothing and delete the bytes it had stored.
func TestUploadRechecksAfterValidation(t *testing.T) {
	tests := []struct {
		name      string
		meanwhile func(*Snapshot)
		wantCode  string
	}{
		{"order submitted meanwhile", func(s *Snapshot) { s.Order.State = filing.StateSubmitted }, filing.CodeInvalidState},
		{"method changed to the app meanwhile", func(s *Snapshot) { s.Order.UploadMethod = filing.MethodApp }, ""},
		{"order withdrawn and method cleared meanwhile", func(s *Snapshot) { s.Order.UploadMethod = filing.MethodNone }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := pcOrder(t)
			store := &memStore{snap: snap}
			store.beforeUpdate = func(s *Snapshot) { tt.meanwhile(s); store.beforeUpdate = nil }
			blobs := &memBlobs{}
			svc := newService(t, store, blobs)
			img := photo(t, 1)
			_, err := svc.Upload(context.Background(), Upload{
				OrderID: snap.Order.ID, Slot: filing.SlotSubjectLeaderIDFront, Via: filing.ViaPC, Body: bytes.NewReader(img),
			})
			if tt.wantCode != "" && filing.ErrorCode(err) != tt.wantCode {
				t.Fatalf("err %v, want %s", err, tt.wantCode)
			}
			if err == nil {
				// PC uploads stay allowed whatever the method; what matters is that an
				// accepted upload is recorded.
				if _, ok := store.snap.Materials[filing.SlotSubjectLeaderIDFront]; !ok {
					t.Fatal("accepted upload not recorded")
				}
				return
			}
			if len(store.snap.Materials) != 0 || len(store.events) != 0 {
				t.Fatalf("refused upload changed the order: %d materials, %d events", len(store.snap.Materials), len(store.events))
			}
			// Its blob is the sweeper's to delete (an upload of the same bytes may be in
			// flight); the service deletes nothing.
			if len(blobs.deleted) != 0 {
				t.Fatalf("the service deleted %v", blobs.deleted)
			}
		})
	}
}

// TestNoDeleteBesideUploads: the service never deletes a blob itself, not when a slot is
// replaced or removed: blobs are keyed by content, and a delete could fall between another
// upload's write of the same bytes and its record. Unreferenced blobs are the sweeper's
// (internal/sweep, and the server's TestReplacedImagesLeaveTheDisk).
func TestNoDeleteBesideUploads(t *testing.T) {
	snap := pcOrder(t)
	store := &memStore{snap: snap}
	blobs := &memBlobs{}
	svc := newService(t, store, blobs)
	ctx := context.Background()
	a, b := photo(t, 1), photo(t, 2)
	put := func(slot filing.Slot, img []byte) {
		t.Helper()
		if _, err := svc.Upload(ctx, Upload{OrderID: snap.Order.ID, Slot: slot, Via: filing.ViaPC, Body: bytes.NewReader(img)}); err != nil {
			t.Fatalf("upload %s: %v", slot, err)
		}
	}
	front, back := filing.SlotSubjectLeaderIDFront, filing.SlotSubjectLeaderIDBack
	put(front, a)
	put(back, a)
	put(front, b)
	if err := svc.RemoveMaterial(ctx, snap.Order.ID, back); err != nil {
		t.Fatal(err)
	}
	put(front, a)
	if len(blobs.deleted) != 0 {
		t.Fatalf("the service deleted %v", blobs.deleted)
	}
	want := slices.Sorted(slices.Values([]string{blob.KeyOf(snap.Order.ID, a), blob.KeyOf(snap.Order.ID, b)}))
	if got := blobs.keys(); !slices.Equal(got, want) {
		t.Fatalf("blobs %v, want %v", got, want)
	}
}

// TestUploadSettles: the last required material moves the order to uploaded in the same
// change, with the material's event first.
func TestUploadSettles(t *testing.T) {
	snap := pcOrder(t)
	store := &memStore{snap: snap}
	svc := newService(t, store, &memBlobs{})
	for i, slot := range []filing.Slot{filing.SlotSubjectLeaderIDFront, filing.SlotSubjectLeaderIDBack, filing.SlotVerificationForm} {
		if _, err := svc.Upload(context.Background(), Upload{OrderID: snap.Order.ID, Slot: slot, Via: filing.ViaPC, Body: bytes.NewReader(photo(t, uint64(i)))}); err != nil {
			t.Fatal(err)
		}
	}
	if store.snap.Order.State != filing.StateUploaded {
		t.Fatalf("state %s, want uploaded", store.snap.Order.State)
	}
	var types []string
	for _, ev := range store.events {
		types = append(types, ev.Type)
	}
	want := []string{events.MaterialUploaded, events.MaterialUploaded, events.MaterialUploaded, events.StateChanged}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	if last, prev := store.events[3], store.events[2]; last.Version != prev.Version {
		t.Fatalf("state_changed version %d, its material's %d: one change, one version", last.Version, prev.Version)
	}
}

// TestBlobFailureChangesNothing: when the bytes cannot be stored, nothing is recorded.
func TestBlobFailureChangesNothing(t *testing.T) {
	snap := pcOrder(t)
	store := &memStore{snap: snap}
	svc := newService(t, store, &memBlobs{putErr: errors.New("disk full")})
	_, err := svc.Upload(context.Background(), Upload{OrderID: snap.Order.ID, Slot: filing.SlotVerificationForm, Via: filing.ViaPC, Body: bytes.NewReader(photo(t, 3))})
	if err == nil {
		t.Fatal("upload succeeded with a failing blob store")
	}
	if store.snap.Order.Version != snap.Order.Version || len(store.events) != 0 || len(store.snap.Materials) != 0 {
		t.Fatal("a failed blob write changed the order")
	}
}

// TestAppUploadReadsOnce: the app handler hands AuthorizePhone's session to Upload, so an app
// upload reads the order once before its write; without the snapshot Upload reads it again.
// A snapshot of another order is not trusted.
func TestAppUploadReadsOnce(t *testing.T) {
	tests := []struct {
		name      string
		handOn    func(snap *Snapshot) *Snapshot
		wantLoads int
	}{
		{"snapshot handed on", func(s *Snapshot) *Snapshot { return s }, 1},
		{"no snapshot", func(*Snapshot) *Snapshot { return nil }, 2},
		{"snapshot of another order", func(s *Snapshot) *Snapshot {
			c := clone(s)
			c.Order.ID = "bbbbbbbbbbbbbbbbbbbbbbbbbb"
			return c
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := pcOrder(t)
			if err := snap.Order.ChooseMethod(filing.MethodApp, true, testNow); err != nil {
				t.Fatal(err)
			}
			phone := auth.Phone{OrderID: snap.Order.ID, PairingID: "pppppppppppppppppppppppppp", DeviceID: "device-1"}
			snap.Pairing = &Pairing{ID: phone.PairingID, DeviceID: phone.DeviceID, ExpiresAt: testNow.Add(time.Minute), ClaimedAt: testNow}
			store := &memStore{snap: snap}
			svc := newService(t, store, &memBlobs{})
			token, _, err := svc.signer.PhoneToken(phone, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := svc.AuthorizePhone(context.Background(), token)
			if err != nil {
				t.Fatal(err)
			}
			m, err := svc.Upload(context.Background(), Upload{
				OrderID: sess.Phone.OrderID, Slot: filing.SlotSubjectLeaderIDFront, Via: filing.ViaApp,
				Body: bytes.NewReader(photo(t, 2)), Phone: &PhoneSession{Phone: sess.Phone, Snapshot: tt.handOn(sess.Snapshot)},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := store.snap.Materials[filing.SlotSubjectLeaderIDFront]; got.SHA256 != m.SHA256 {
				t.Fatal("accepted upload not recorded")
			}
			if store.loads != tt.wantLoads {
				t.Fatalf("%d loads before the write, want %d", store.loads, tt.wantLoads)
			}
		})
	}
}

// TestStaleSnapshotRechecked: a handed-on snapshot taken before the pairing was revoked
// passes the pre-checks, but the write checks the stored order and refuses.
func TestStaleSnapshotRechecked(t *testing.T) {
	snap := pcOrder(t)
	if err := snap.Order.ChooseMethod(filing.MethodApp, true, testNow); err != nil {
		t.Fatal(err)
	}
	phone := auth.Phone{OrderID: snap.Order.ID, PairingID: "pppppppppppppppppppppppppp", DeviceID: "device-1"}
	snap.Pairing = &Pairing{ID: phone.PairingID, DeviceID: phone.DeviceID, ExpiresAt: testNow.Add(time.Minute), ClaimedAt: testNow}
	stale := clone(snap)
	store := &memStore{snap: snap}
	store.snap.Pairing = nil // revoked after AuthorizePhone read it
	blobs := &memBlobs{}
	svc := newService(t, store, blobs)
	_, err := svc.Upload(context.Background(), Upload{
		OrderID: phone.OrderID, Slot: filing.SlotSubjectLeaderIDFront, Via: filing.ViaApp,
		Body: bytes.NewReader(photo(t, 3)), Phone: &PhoneSession{Phone: phone, Snapshot: stale},
	})
	if filing.ErrorCode(err) != filing.CodeTokenRevoked {
		t.Fatalf("err %v, want %s", err, filing.CodeTokenRevoked)
	}
	// Its blob, unreferenced, is the sweeper's (TestNoDeleteBesideUploads).
	if len(store.snap.Materials) != 0 || len(store.events) != 0 || len(blobs.deleted) != 0 {
		t.Fatalf("refused upload left state: %d materials, %d events; deleted %v", len(store.snap.Materials), len(store.events), blobs.deleted)
	}
}
