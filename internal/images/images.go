// Package images does validation, metadata stripping, quality analysis, auto-fit and
// stitching of filing material images (docs/rules.md "Image rules").
//
// Process is the one entry point for an upload: it reads the format from the bytes,
// refuses what the contract refuses (too_large, unsupported_format, corrupt_image,
// image_too_small, image_too_large_dimensions, animated_gif) with the coded errors of
// internal/filing, removes metadata without re-encoding, and reports quality warnings.
// With Options.Fit it instead re-encodes the image as a JPEG under the size limit, and
// Stitch stacks several images into one.
//
// Everything here is a pure function of its input: no I/O, no globals, safe for
// concurrent use. Every check that can be made from a header is made before anything is
// decoded, so a hostile header cannot make the server allocate more than the pixel limit
// allows.
package images

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// Format is an accepted image format, named as the contract's MATERIAL "format" field.
type Format string

// The accepted formats. Anything else, whatever its file name says, is unsupported_format.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	GIF  Format = "gif"
)

// ContentType returns the media type the stored image is served with.
func (f Format) ContentType() string {
	switch f {
	case JPEG:
		return "image/jpeg"
	case PNG:
		return "image/png"
	case GIF:
		return "image/gif"
	}
	return "application/octet-stream"
}

// Default limits and thresholds (docs/rules.md).
const (
	DefaultMaxBytes     int64 = 4 << 20 // "under 4 MB": a stored image is < 4 MiB
	DefaultMinShortSide       = 300
	DefaultMaxPixels    int64 = 40_000_000
	DefaultFitMaxBytes  int64 = 20 << 20

	DefaultBlur            = 20.0
	DefaultDark            = 50.0
	DefaultBright          = 215.0
	DefaultGray            = 16.0
	DefaultWhiteBackground = 0.6
)

// Thresholds tune the quality warnings. A zero field takes its default. All luma and
// chroma values are on the 0–255 scale and measured at the working resolution (the image
// box-averaged so that its long side is at most about 1000 pixels).
type Thresholds struct {
	// Blur: an image whose variance of the (4-neighbour) Laplacian of luma is below this
	// is "blurry". Luma is first stretched so that its 1st–99th percentile range spans
	// 0–255 (gain at most 4), so that a dark or washed-out but sharp photo is not also
	// called blurry. Default 20 (sharp photos and scans measure in the hundreds; a
	// Gaussian blur of sigma 2 at working resolution brings a photo below 10). An image
	// is also blurry, whatever this threshold, when its Laplacian energy is under a
	// fifth of its gradient energy: edges blurred by about 2 px or more at working
	// resolution. That catches a blurred, high-contrast document whose Laplacian
	// variance is still high because of its many edges (sharp images measure 2–3).
	Blur float64
	// Dark: an image whose mean luma is below this is "too_dark". Default 50.
	Dark float64
	// Bright: an image whose mean luma is above this, or of which half or more of the
	// pixels are clipped (luma >= 250), is "overexposed" — but only if it has almost no
	// dark detail left (under 0.5% of pixels darker than 128), so that a well-exposed
	// scan of white paper with dark text is not flagged. Default 215.
	Bright float64
	// Gray: a pixel whose chroma (max−min of R, G, B) is above this counts as coloured;
	// an image with fewer than 0.2% coloured pixels is "grayscale". Default 16.
	Gray float64
	// WhiteBackground: for the face photo, the share (0–1) of near-white pixels
	// (luma >= 180, chroma <= 40) that the frame's border (a tenth of the width at the
	// left and right, of the height at the top and bottom), less the person (each face's
	// box and the column below it), must reach; below it the photo gets
	// "background_not_white". With no face found the whole border is judged. Default 0.6.
	WhiteBackground float64
	// FaceMinShare: the face photo's face box (brow to chin) under this share of the
	// image's short side is "face_too_small". Default 0.16 (BEIANSCAN_FACE_MIN_SHARE).
	FaceMinShare float64
	// FaceCenterTolerance: the face box's centre further than this share of the width
	// from the vertical midline, or of the height from the middle, is "face_not_centered".
	// Default 0.25 (BEIANSCAN_FACE_CENTER_TOLERANCE).
	FaceCenterTolerance float64
}

// Options are the limits of one call. A zero field takes its default.
type Options struct {
	// MaxBytes: a stored image must be smaller than this. Default 4 MiB (4<<20): the
	// contract's "under 4 MB". Without Fit, input of MaxBytes or more is too_large.
	MaxBytes int64
	// MinShortSide: a shorter short side is image_too_small. Default 300.
	MinShortSide int
	// MaxPixels: width×height above this is image_too_large_dimensions, refused from the
	// header before anything is decoded. Default 40,000,000.
	MaxPixels int64
	// Fit (the upload's ?fit=1): accept input of up to FitMaxBytes and store it as a
	// JPEG smaller than MaxBytes, orientation applied, downscaled only as far as needed.
	Fit bool
	// FitMaxBytes: with Fit, input of more than this is too_large. Default 20 MiB.
	FitMaxBytes int64
	// Face: the image is the face photo: check for a white background and for exactly
	// one clear, centred face (the same as Faces = filing.FaceCheckPhoto).
	Face bool
	// Faces is the face check of the slot (filing.Order.FaceCheck): none, the face photo,
	// an ID's portrait side (no_face) or an emblem side (wrong_side).
	Faces filing.FaceCheck
	// Thresholds of the quality warnings; zero fields take their defaults.
	Thresholds Thresholds
	// Observe, when set, is told how long each step took: "header", "decode" (to the
	// working image: a large JPEG's coefficients to cells, otherwise the decode and the
	// reduction), "strip", "analyse" (the measures and faces), or the whole of "fit" and
	// "stitch" (the metrics' image step histogram).
	Observe func(step string, d time.Duration)
}

// timed returns a func that reports the time since now as step to Observe.
func (o Options) timed(step string) func() {
	if o.Observe == nil {
		return func() {}
	}
	start := time.Now()
	return func() { o.Observe(step, time.Since(start)) }
}

// Result is an accepted image.
type Result struct {
	// Data is what to store (and what sha256 is computed over).
	Data   []byte
	Format Format
	// Width and Height are of the stored image as displayed: for a JPEG that keeps an
	// EXIF orientation of 5–8 they are swapped from the coded size; a fitted or stitched
	// image has its orientation applied and no EXIF.
	Width, Height int
	// Warnings is a subset of "grayscale", "blurry", "too_dark", "overexposed",
	// "background_not_white", "no_face", "multiple_faces", "face_too_small",
	// "face_not_centered", "wrong_side", in that order; never nil.
	Warnings []string
	// Fitted is true when the image was re-encoded by Fit.
	Fitted bool
	// OriginalSize is the number of bytes received.
	OriginalSize int64
}

// Warning names, in the order Result.Warnings lists them; their texts are filing.Warnings.
const (
	WarnGrayscale          = filing.WarningGrayscale
	WarnBlurry             = filing.WarningBlurry
	WarnTooDark            = filing.WarningTooDark
	WarnOverexposed        = filing.WarningOverexposed
	WarnBackgroundNotWhite = filing.WarningBackgroundNotWhite
)

// Limits are the options' size limits with their defaults applied, as the catalogue
// publishes them and the edge bounds a request body.
func (o Options) Limits() filing.Limits {
	o = o.withDefaults()
	return filing.Limits{MaxBytes: o.MaxBytes, FitMaxBytes: o.FitMaxBytes, StitchMaxParts: StitchMaxParts, MinShortSide: o.MinShortSide}
}

func (o Options) withDefaults() Options {
	o.MaxBytes = cmp.Or(o.MaxBytes, DefaultMaxBytes)
	o.MinShortSide = cmp.Or(o.MinShortSide, DefaultMinShortSide)
	o.MaxPixels = cmp.Or(o.MaxPixels, DefaultMaxPixels)
	o.FitMaxBytes = cmp.Or(o.FitMaxBytes, DefaultFitMaxBytes)
	o.Thresholds = o.Thresholds.withDefaults()
	return o
}

func (t Thresholds) withDefaults() Thresholds {
	t.Blur = cmp.Or(t.Blur, DefaultBlur)
	t.Dark = cmp.Or(t.Dark, DefaultDark)
	t.Bright = cmp.Or(t.Bright, DefaultBright)
	t.Gray = cmp.Or(t.Gray, DefaultGray)
	t.WhiteBackground = cmp.Or(t.WhiteBackground, DefaultWhiteBackground)
	t.FaceMinShare = cmp.Or(t.FaceMinShare, DefaultFaceMinShare)
	t.FaceCenterTolerance = cmp.Or(t.FaceCenterTolerance, DefaultFaceCenterTolerance)
	return t
}

// faceCheck is the face check the options ask for: Faces, or the face photo's when Face.
func (o Options) faceCheck() filing.FaceCheck {
	if o.Face {
		return filing.FaceCheckPhoto
	}
	return o.Faces
}

// ReadLimited reads all of r, failing with filing.ErrTooLarge (details max_bytes = limit,
// and size when ReadSized was given it)
// as soon as more than limit bytes arrive. It never holds more than limit+1 bytes, so a
// caller can read a request body with it without trusting Content-Length. For a plain
// upload pass MaxBytes-1 (the stored image must be under MaxBytes); with Fit pass
// FitMaxBytes. Errors of r other than io.EOF are returned as they are.
func ReadLimited(r io.Reader, limit int64) ([]byte, error) {
	return ReadSized(r, -1, limit)
}

// ReadSized is ReadLimited for a body whose size is known (Content-Length; negative when
// it is not): the buffer is that size plus the one byte that sees the end, allocated once,
// instead of grown by doubling, whose copies leave up to twice the body as garbage.
func ReadSized(r io.Reader, size, limit int64) ([]byte, error) {
	if limit < 0 {
		limit = 0
	}
	// Grow by doubling but never past limit+1: one byte more than the limit is
	// enough to know the body is too large.
	capacity := int64(64 << 10)
	if size >= 0 {
		capacity = size + 1
	}
	if capacity > limit+1 {
		capacity = limit + 1
	}
	buf := make([]byte, 0, capacity)
	for {
		if int64(len(buf)) > limit {
			return nil, tooLarge(limit, size, false)
		}
		if len(buf) == cap(buf) {
			next := int64(cap(buf)) * 2
			if next > limit+1 {
				next = limit + 1
			}
			nb := make([]byte, len(buf), next)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, tooLarge(limit, size, false)
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// tooLarge is filing.ErrTooLarge for a limit of max bytes; exclusive says whether the
// image must be under max (the 4 MB rule) or may be max bytes (the fit input limit). size is
// the upload's size when it is known (negative otherwise: a body without Content-Length is
// not read past the limit just to count it); details carry it beside the limit, so that
// the page can say both.
func tooLarge(max, size int64, exclusive bool) error {
	en, zh := "at most", "不能超过"
	if exclusive {
		en, zh = "under", "应小于"
	}
	return filing.ErrTooLarge.
		WithMessage(fmt.Sprintf("The image must be %s %s.", en, megabytes(max)),
			fmt.Sprintf("图片大小%s %s，请压缩后重新上传。", zh, megabytes(max))).
		WithDetails(tooLargeDetails(max, size))
}

func tooLargeDetails(max, size int64) map[string]any {
	d := map[string]any{"max_bytes": max}
	if size >= 0 {
		d["size"] = size
	}
	return d
}

func megabytes(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Sniff returns the format of data from its magic bytes only. Anything other than
// JPEG, PNG or GIF is filing.ErrUnsupportedFormat; formats we recognize but do not
// accept (WebP, BMP, HEIC/AVIF, TIFF) are named in details.detected.
func Sniff(data []byte) (Format, error) {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return JPEG, nil
	case bytes.HasPrefix(data, pngSignature):
		return PNG, nil
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return GIF, nil
	}
	if d := detectOther(data); d != "" {
		err := filing.ErrUnsupportedFormat
		if d == "pdf" {
			// The commonest case: a scan saved as PDF and renamed .jpg. Saying what it is
			// and how to make an image of it saves a second wrong try.
			err = err.WithMessage("This is a PDF document, not an image: export the page as a JPG or PNG image, or photograph the paper.",
				"这是 PDF 文件，不是图片：请将该页导出或截图为 jpg、png 图片，或直接拍摄纸质文件后上传。")
		}
		return "", err.WithDetails(map[string]any{"detected": d})
	}
	return "", filing.ErrUnsupportedFormat
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

func detectOther(data []byte) string {
	switch {
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	case bytes.HasPrefix(data, []byte("BM")) && len(data) >= 14:
		return "bmp"
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		switch string(data[8:12]) {
		case "avif", "avis":
			return "avif"
		case "heic", "heix", "hevc", "hevx", "mif1", "msf1", "heim", "heis":
			return "heic"
		}
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return "pdf"
	}
	return ""
}

// header is what is known of an image before decoding its pixels.
type header struct {
	format      Format
	width       int // coded size
	height      int
	orientation int   // EXIF orientation of a JPEG, 1 if none
	decodeBytes int64 // what decoding allocates at its peak (decodeBytes)
}

// checkHeader sniffs data and reads its header: format, dimensions against the pixel
// limit, and for GIF the frame count. Nothing is decoded yet.
func checkHeader(data []byte, opts Options) (header, error) {
	f, err := Sniff(data)
	if err != nil {
		return header{}, err
	}
	cfg, err := decodeConfig(f, data)
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return header{}, filing.ErrCorruptImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > opts.MaxPixels {
		return header{}, filing.ErrImageTooLargeDimensions.WithDetails(map[string]any{
			"max_pixels": opts.MaxPixels, "width": cfg.Width, "height": cfg.Height})
	}
	// A few pixels can still need a lot of memory: 16 bits per channel, CMYK, a
	// progressive JPEG's coefficients. Refuse by what the decoder would allocate.
	need := decodeBytes(f, data, cfg.Width, cfg.Height)
	if need > MaxDecodeBytes {
		return header{}, tooMuchMemory(need, cfg.Width, cfg.Height)
	}
	h := header{format: f, width: cfg.Width, height: cfg.Height, orientation: 1, decodeBytes: need}
	switch f {
	case GIF:
		frames, err := gifFrames(data)
		if frames > 1 {
			return header{}, filing.ErrAnimatedGIF.WithDetails(map[string]any{"frames_at_least": frames})
		}
		if err != nil {
			return header{}, filing.ErrCorruptImage
		}
	case JPEG:
		h.orientation = jpegOrientation(data)
	}
	return h, nil
}

// decode decodes the whole image. Any decoder error (or a panic in a decoder, which
// would be a bug there) is corrupt_image; the decoder's own message never reaches a
// client.
func decode(f Format, data []byte) (img image.Image, err error) {
	defer func() {
		if recover() != nil {
			img, err = nil, filing.ErrCorruptImage
		}
	}()
	r := bytes.NewReader(data)
	switch f {
	case JPEG:
		img, err = jpeg.Decode(r)
	case PNG:
		img, err = png.Decode(r)
	case GIF:
		img, err = gif.Decode(r)
	default:
		err = filing.ErrUnsupportedFormat
	}
	if err != nil || img == nil {
		return nil, filing.ErrCorruptImage
	}
	return img, nil
}

func checkShortSide(w, h int, opts Options) error {
	if min(w, h) < opts.MinShortSide {
		return filing.ErrImageTooSmall.WithDetails(map[string]any{
			"min_short_side": opts.MinShortSide, "width": w, "height": h})
	}
	return nil
}

// Process validates one uploaded image and returns what to store (see the package
// comment). Without opts.Fit the stored bytes are the input less its metadata, never
// re-encoded; an image with nothing to remove is returned byte for byte. With opts.Fit
// the image is always re-encoded as a JPEG under opts.MaxBytes (even when it already is
// under it), so that a fitted material is always an upright JPEG without metadata.
func Process(data []byte, opts Options) (*Result, error) {
	if opts.Fit {
		opts = opts.withDefaults()
		defer opts.timed("fit")()
		return fit(data, opts)
	}
	p, err := Prepare(data, opts)
	if err != nil {
		return nil, err
	}
	return p.Check()
}

// Prepared is an upload (without Fit) whose stored bytes are known and whose pixels are not
// yet decoded: the stored bytes do not depend on the decode, so a caller can start writing
// them durably while Check decodes and analyses (the acknowledgment then costs one decode
// plus one write, not their sum).
type Prepared struct {
	// Data is what to store if Check accepts the image: the input less its metadata.
	Data        []byte
	h           header
	orientation int
	size        int64
	input       []byte
	opts        Options
}

// Prepare does what Process does before decoding: the size limit, the header checks
// (format, pixel flood, decode memory, animation) and the lossless strip. It allocates no
// more than the stripped copy. With opts.Fit it refuses to work: the stored bytes of a
// fitted image are the re-encode's.
func Prepare(data []byte, opts Options) (*Prepared, error) {
	opts = opts.withDefaults()
	if opts.Fit {
		return nil, errors.New("images: Prepare with Fit")
	}
	if int64(len(data)) >= opts.MaxBytes {
		return nil, tooLarge(opts.MaxBytes, int64(len(data)), true)
	}
	done := opts.timed("header")
	h, err := checkHeader(data, opts)
	done()
	if err != nil {
		return nil, err
	}
	done = opts.timed("strip")
	out, orientation, err := strip(h.format, data)
	done()
	if err != nil {
		return nil, filing.ErrCorruptImage
	}
	// The stripped image must still be the same image; a cheap header check guards
	// against a stripping bug storing something a browser cannot show.
	if !sameConfig(h.format, out, h.width, h.height) {
		// Stripping runs before the decode: a broken image must still answer
		// corrupt_image, and only a stripping bug the internal error.
		if _, err := decode(h.format, data); err != nil {
			return nil, err
		}
		return nil, errors.New("images: stripped image does not decode to the same size")
	}
	return &Prepared{Data: out, h: h, orientation: orientation, size: int64(len(data)), input: data, opts: opts}, nil
}

// Plausible reports whether the header leaves the image a chance to be accepted (it is
// not too small); a caller writes the bytes ahead of Check only then.
func (p *Prepared) Plausible() bool {
	return checkShortSide(p.h.width, p.h.height, p.opts) == nil
}

// Check decodes the image to the working resolution (corrupt_image), checks its short
// side (image_too_small) and computes its warnings, quality and faces: the rest of Process.
func (p *Prepared) Check() (*Result, error) {
	h, opts := p.h, p.opts
	done := opts.timed("decode")
	wk, err := decodeWorking(h, p.input)
	done()
	if err != nil {
		return nil, err
	}
	if err := checkShortSide(h.width, h.height, opts); err != nil {
		return nil, err
	}
	w, ht := h.width, h.height
	if p.orientation >= 5 && p.orientation <= 8 {
		w, ht = ht, w
	}
	done = opts.timed("analyse")
	warnings := analyze(wk, opts, h.orientation)
	done()
	return &Result{
		Data:         p.Data,
		Format:       h.format,
		Width:        w,
		Height:       ht,
		Warnings:     warnings,
		OriginalSize: p.size,
	}, nil
}

func sameConfig(f Format, data []byte, w, h int) bool {
	cfg, err := decodeConfig(f, data)
	return err == nil && cfg.Width == w && cfg.Height == h
}

// decodeConfig reads the dimensions and colour model from the header of an image of
// format f, without decoding its pixels.
func decodeConfig(f Format, data []byte) (image.Config, error) {
	r := bytes.NewReader(data)
	switch f {
	case JPEG:
		return jpeg.DecodeConfig(r)
	case PNG:
		return png.DecodeConfig(r)
	case GIF:
		return gif.DecodeConfig(r)
	}
	return image.Config{}, filing.ErrUnsupportedFormat
}
