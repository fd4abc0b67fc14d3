// Command phone simulates the provider's phone app against a beianscan server: it reads
// the desktop's QR code, claims the pairing, uploads the order's materials and reports
// completion, printing each step. It is for demos, manual testing and load runs.
//
// Usage:
//
//	phone [flags] SCAN_URL | QR.png | http(s)://…/qr.png
//	phone -list [SERVER_URL]
//
// The argument is one of:
//
//   - the scan URL the QR code holds, e.g. http://localhost:8080/m/scan?code=…
//     (the desktop's pairing answer has it as scan_url);
//   - a path to an image file of the QR code (a PNG saved from the desktop page, a
//     screenshot or a photo);
//   - the URL of the desktop's QR PNG, GET /api/v1/orders/{id}/pairing/qr.png. That
//     endpoint belongs to the desktop, so it needs the order's desktop token: pass it with
//     -desktop-token (sent as Authorization: Bearer, never in the URL).
//
// Flags:
//
//	-app-version V    X-App-Version to send (default 3.16.0, the oldest allowed)
//	-device ID        X-Device-Id to send (default: a random phone-sim-… id)
//	-device-name N    X-Device-Name to send, shown on the desktop (e.g. "iPhone 15")
//	-desktop-token T  desktop token, only to fetch a QR PNG from its URL
//	-dir DIR          use DIR/<slot>.jpg|.jpeg|.png|.gif instead of the sample images
//	-seed N           which sample images to draw (default 1)
//	-no-complete      upload, but do not tell the server the phone is done
//	-timeout D        give up after D (default 2m)
//	-state FILE       where the phone keeps its device ID and device token (default
//	                  beianscan-phone/device.json in the user's config directory; "" keeps none)
//	-list             print the orders this phone verified (GET /m/v1/device/orders), from
//	                  the server it last claimed on or SERVER_URL
//
// On a server error it prints the error code and both messages (English and Chinese) and
// exits with status 1; a usage error exits with status 2.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/beianscan/beianscan/internal/appsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// imageExts are the file endings -dir looks for, in the formats the server accepts.
var imageExts = []string{".jpg", ".jpeg", ".png", ".gif"}

// run is the whole command, apart from the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("phone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: phone [flags] SCAN_URL | QR.png | http(s)://…/qr.png\n\n")
		fmt.Fprintf(stderr, "Simulates the phone app: claims the pairing of a desktop's QR code, uploads the\n")
		fmt.Fprintf(stderr, "order's materials and completes. Fetching a QR PNG from its URL needs -desktop-token.\n\n")
		fs.PrintDefaults()
	}
	appVersion := fs.String("app-version", appsim.DefaultAppVersion, "X-App-Version to send")
	device := fs.String("device", "", "X-Device-Id to send (default: a random phone-sim-… id)")
	deviceName := fs.String("device-name", "", "X-Device-Name to send, shown on the desktop (e.g. \"iPhone 15\")")
	desktopToken := fs.String("desktop-token", "", "desktop token (Authorization: Bearer), only to fetch a QR PNG from its URL")
	dir := fs.String("dir", "", "folder of images named <slot>.jpg|.jpeg|.png|.gif to upload instead of the samples")
	seed := fs.Int64("seed", 1, "which sample images to draw")
	noComplete := fs.Bool("no-complete", false, "upload but do not complete")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	statePath := fs.String("state", defaultStatePath(), "file of the phone's device ID and device token (\"\" keeps none)")
	list := fs.Bool("list", false, "print the orders this phone verified, then exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := loadState(*statePath)
	if err != nil {
		fmt.Fprintf(stderr, "phone: %v\n", err)
		return 2
	}
	if *list {
		if fs.NArg() > 1 {
			fs.Usage()
			return 2
		}
		return listOrders(ctx, st, fs.Arg(0), *appVersion, stdout, stderr)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}

	images, err := readDir(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "phone: %v\n", err)
		return 2
	}
	c := &appsim.Client{
		AppVersion: *appVersion,
		DeviceID:   *device,
		DeviceName: *deviceName,
		Log:        func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) },
	}
	if c.DeviceID == "" {
		c.DeviceID = cmpOr(st.DeviceID, appsim.RandomDeviceID())
	}

	scanURL, err := resolve(ctx, c, fs.Arg(0), *desktopToken, stdout)
	if err != nil {
		return fail(stderr, err)
	}
	sess, err := appsim.WalkWith(ctx, c, scanURL, appsim.WalkOptions{Images: images, Seed: *seed, SkipComplete: *noComplete})
	// The app keeps the newest device token, even when a later step failed.
	if sess != nil && sess.DeviceToken != "" {
		st = phoneState{Server: sess.Base, DeviceID: sess.DeviceID, DeviceToken: sess.DeviceToken}
		if serr := saveState(*statePath, st); serr != nil {
			fmt.Fprintf(stderr, "phone: keeping the device token: %v\n", serr)
		}
	}
	if err != nil {
		return fail(stderr, err)
	}
	return 0
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// phoneState is what the phone keeps between runs, as the app does: the device ID its
// device token is bound to, the token, and the server it came from.
type phoneState struct {
	Server      string `json:"server"`
	DeviceID    string `json:"device_id"`
	DeviceToken string `json:"device_token"`
}

func defaultStatePath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "beianscan-phone", "device.json")
}

// loadState reads the state file; a missing file (or none asked for) is an empty state.
func loadState(path string) (phoneState, error) {
	var st phoneState
	if path == "" {
		return st, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// saveState writes the state file, readable by its owner only: the token is a credential.
func saveState(path string, st phoneState) error {
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// listOrders prints what this phone verified: the FAQ's "app 上会显示您通过此手机核验的订单信息".
func listOrders(ctx context.Context, st phoneState, server, appVersion string, stdout, stderr io.Writer) int {
	server = cmpOr(server, st.Server)
	if st.DeviceToken == "" || server == "" {
		fmt.Fprintln(stderr, "phone: no device token kept yet: claim a pairing first (or pass -state)")
		return 2
	}
	c := &appsim.Client{AppVersion: appVersion, DeviceID: st.DeviceID}
	list, err := c.DeviceOrders(ctx, server, st.DeviceToken)
	if err != nil {
		return fail(stderr, err)
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no orders verified through this phone")
		return 0
	}
	for _, o := range list {
		fmt.Fprintf(stdout, "order %s  %s  %s  state %s%s%s\n", o.ID, o.SubjectName, strings.Join(o.Domains, ", "),
			o.State, outcome(" review ", o.Review, "outcome"), outcome(" authority ", o.Authority, "status"))
		fmt.Fprintf(stdout, "  verified %s: %s\n", o.VerifiedAt.Local().Format(time.DateTime), strings.Join(o.Slots, ", "))
	}
	return 0
}

// outcome is label and one field of a REVIEW or AUTHORITY object, or "" when there is none.
func outcome(label string, raw json.RawMessage, field string) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return ""
	}
	s, _ := m[field].(string)
	if icp, _ := m["icp_number"].(string); icp != "" {
		s += " " + icp
	}
	return label + s
}

// resolve turns the argument into a scan URL: as given, decoded from a QR image file, or
// decoded from a QR PNG fetched with the desktop token.
func resolve(ctx context.Context, c *appsim.Client, arg, desktopToken string, stdout io.Writer) (string, error) {
	if appsim.IsScanURL(arg) {
		return arg, nil
	}
	var img []byte
	var err error
	if strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://") {
		if desktopToken == "" {
			fmt.Fprintln(stdout, "note: fetching a QR PNG needs the desktop token (-desktop-token); trying without")
		}
		img, err = c.FetchQR(ctx, arg, desktopToken)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(stdout, "fetched QR code image (%d bytes)\n", len(img))
	} else {
		img, err = os.ReadFile(arg)
		if err != nil {
			return "", err
		}
	}
	text, err := appsim.DecodeQR(img)
	if err != nil {
		return "", err
	}
	base, _, err := appsim.ParseScanURL(text)
	if err != nil {
		return "", fmt.Errorf("the QR code does not hold a scan URL: %w", err)
	}
	// The code itself is a credential for the next few minutes: not printed.
	fmt.Fprintf(stdout, "QR code points at %s\n", base)
	return text, nil
}

// readDir loads <slot>.<ext> images from dir; an empty dir means none.
func readDir(dir string) (map[string][]byte, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	images := map[string][]byte{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || !slices.Contains(imageExts, ext) {
			continue
		}
		slot := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		if _, dup := images[slot]; dup {
			return nil, fmt.Errorf("%s: more than one image for slot %s", dir, slot)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		images[slot] = b
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("%s: no <slot>.jpg|.jpeg|.png|.gif images", dir)
	}
	return images, nil
}

// fail prints err — for a server error, its code and both messages — and returns 1.
func fail(stderr io.Writer, err error) int {
	var ae *appsim.APIError
	if !errors.As(err, &ae) {
		fmt.Fprintf(stderr, "phone: %v\n", err)
		return 1
	}
	code := ae.Code
	if code == "" {
		code = "(no error code)"
	}
	fmt.Fprintf(stderr, "phone: server refused: %s (HTTP %d)\n", code, ae.Status)
	if ae.Message != "" {
		fmt.Fprintf(stderr, "  en: %s\n", ae.Message)
	}
	if ae.MessageZh != "" {
		fmt.Fprintf(stderr, "  zh: %s\n", ae.MessageZh)
	}
	if len(ae.Details) > 0 {
		// Details were decoded from JSON, so they encode again: the error cannot happen.
		d, _ := json.Marshal(ae.Details)
		fmt.Fprintf(stderr, "  details: %s\n", d)
	}
	return 1
}
