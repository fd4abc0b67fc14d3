package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/appsim/appsimtest"
)

func TestRun(t *testing.T) {
	custom := appsim.SampleImage("custom", 5)
	tests := []struct {
		name string
		// args builds the command line for a fake server and a scratch folder.
		args       func(tb testing.TB, srv *appsimtest.Server, dir string) []string
		wantExit   int
		wantOut    []string
		wantErr    []string
		notOut     []string
		wantDone   bool
		wantUpload map[string][]byte
	}{
		{name: "scan url", wantDone: true,
			args: func(tb testing.TB, srv *appsimtest.Server, dir string) []string {
				return []string{"-device", "dev-cmd", srv.ScanURL()}
			},
			wantOut: []string{"claimed order " + appsimtest.OrderID, "张三", "example.cn, www.example.cn",
				appsimtest.DesktopIP, appsimtest.DesktopUA, "uploaded face_photo", "sha256 ", "warnings: none", "complete"},
			notOut: []string{appsimtest.Code}},
		{name: "qr png file", wantDone: true,
			args: func(tb testing.TB, srv *appsimtest.Server, dir string) []string {
				p := filepath.Join(dir, "qr.png")
				if err := os.WriteFile(p, appsimtest.QR(tb, srv.ScanURL(), 256), 0o600); err != nil {
					tb.Fatal(err)
				}
				return []string{p}
			},
			wantOut: []string{"QR code points at ", "uploaded verification_form", "complete"}},
		{name: "qr url with desktop token", wantDone: true,
			args: func(tb testing.TB, srv *appsimtest.Server, dir string) []string {
				return []string{"-desktop-token", appsimtest.DesktopToken, srv.QRURL()}
			},
			wantOut: []string{"fetched QR code image", "complete"}},
		{name: "qr url without desktop token", wantExit: 1,
			args: func(tb testing.TB, srv *appsimtest.Server, dir string) []string {
				return []string{srv.QRURL()}
			},
			wantOut: []string{"-desktop-token"},
			wantErr: []string{"unauthorized", "HTTP 401", "en: ", "zh: 未登录"}},
		{name: "old app version", wantExit: 1,
			args: func(tb testing.TB, srv *appsimtest.Server, dir string) []string {
				return []string{"-app-version", "3.15.9", srv.ScanURL()}
			},
			wantErr: []string{"app_version_too_old", "HTTP 426", "zh: 请将 app 升级", `"min_version":"3.16.0"`}},
		{name: "dir overrides and no complete",
			args: func(tb testing.TB, srv *appsimtest.Server, dir string) []string {
				if err := os.WriteFile(filepath.Join(dir, "face_photo.JPG"), custom, 0o600); err != nil {
					tb.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600); err != nil {
					tb.Fatal(err)
				}
				return []string{"-dir", dir, "-no-complete", srv.ScanURL()}
			},
			wantOut:    []string{"uploaded face_photo (your image)", "uploaded verification_form (sample image)", "not completing"},
			wantUpload: map[string][]byte{"face_photo": custom}},
		{name: "not a QR image", wantExit: 1,
			args: func(tb testing.TB, srv *appsimtest.Server, dir string) []string {
				p := filepath.Join(dir, "photo.jpg")
				if err := os.WriteFile(p, appsim.SampleImage("face_photo", 1), 0o600); err != nil {
					tb.Fatal(err)
				}
				return []string{p}
			},
			wantErr: []string{"no QR code found"}},
		{name: "missing file", wantExit: 1,
			args: func(tb testing.TB, srv *appsimtest.Server, dir string) []string {
				return []string{filepath.Join(dir, "nope.png")}
			},
			wantErr: []string{"nope.png"}},
		{name: "no argument", wantExit: 2,
			args:    func(tb testing.TB, srv *appsimtest.Server, dir string) []string { return nil },
			wantErr: []string{"usage: phone"}},
		{name: "empty dir", wantExit: 2,
			args: func(tb testing.TB, srv *appsimtest.Server, dir string) []string {
				return []string{"-dir", dir, srv.ScanURL()}
			},
			wantErr: []string{"no <slot>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := appsimtest.New(t)
			var stdout, stderr bytes.Buffer
			code := run(appsimtest.Context(t), tt.args(t, srv, t.TempDir()), &stdout, &stderr)
			out, errOut := stdout.String(), stderr.String()
			if code != tt.wantExit {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantExit, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notOut {
				if strings.Contains(out+errOut, w) {
					t.Errorf("output shows %q", w)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if srv.Completed() != tt.wantDone {
				t.Errorf("completed = %t, want %t", srv.Completed(), tt.wantDone)
			}
			ups := srv.Uploads()
			for slot, img := range tt.wantUpload {
				if !bytes.Equal(ups[slot], img) {
					t.Errorf("%s: uploaded bytes are not the folder's image", slot)
				}
			}
		})
	}
}

// The existing cases keep the phone's state out of the user's config directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "phone-config")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestListAfterClaim: the phone keeps the device ID and token of its claim in its state
// file, owner-only, and -list prints what it verified with them; without a kept token
// -list says to claim first.
func TestListAfterClaim(t *testing.T) {
	srv := appsimtest.New(t)
	state := filepath.Join(t.TempDir(), "phone", "device.json")
	ctx := appsimtest.Context(t)
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"-list", "-state", state, srv.URL}, &stdout, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "claim a pairing first") {
		t.Fatalf("-list before any claim: exit %d, stderr %q; want 2 and advice", code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(ctx, []string{"-state", state, srv.ScanURL()}, &stdout, &stderr); code != 0 {
		t.Fatalf("walk: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	fi, err := os.Stat(state)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600 (it holds a credential)", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(state)
	if !strings.Contains(string(b), appsimtest.DeviceToken) {
		t.Fatalf("state file lacks the device token:\n%s", b)
	}
	stdout.Reset()
	stderr.Reset()
	// The server comes from the state file; the device ID too (the token is bound to it:
	// the fake refuses another).
	if code := run(ctx, []string{"-list", "-state", state}, &stdout, &stderr); code != 0 {
		t.Fatalf("-list: exit %d\n%s", code, stderr.String())
	}
	for _, w := range []string{"order " + appsimtest.OrderID, "张三", "example.cn, www.example.cn", "state uploaded", "face_photo"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("-list output lacks %q:\n%s", w, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "110") {
		t.Errorf("-list shows an ID number:\n%s", stdout.String())
	}
}
