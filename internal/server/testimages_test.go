package server_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// Image generators for the contract tests: small, deterministic, built in memory.

// colourful is a w×h image with colour gradients and a grid, so that it is neither
// grayscale nor flat; quality warnings do not matter to these tests, only that it decodes.
func colourful(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), 255}
			if x%20 < 2 || y%20 < 2 {
				c = color.RGBA{20, 20, 60, 255}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// testPNG is a valid w×h PNG.
func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, colourful(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testJPEG is a valid w×h JPEG.
func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, colourful(w, h), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	binary.Write(&b, binary.BigEndian, crc.Sum32())
	return b.Bytes()
}

const pngSig = "\x89PNG\r\n\x1a\n"

// paddedPNG is a valid 400×400 PNG of exactly size bytes: a tEXt chunk after IHDR carries
// the padding, so every byte belongs to a well-formed image.
func paddedPNG(t testing.TB, size int) []byte {
	t.Helper()
	base := testPNG(t, 400, 400)
	const ihdrEnd = len(pngSig) + 8 + 13 + 4
	pad := size - len(base) - 12 - len("Comment\x00")
	if pad < 0 {
		t.Fatalf("paddedPNG: base image of %d bytes is larger than %d", len(base), size)
	}
	text := append([]byte("Comment\x00"), bytes.Repeat([]byte("a"), pad)...)
	out := make([]byte, 0, size)
	out = append(out, base[:ihdrEnd]...)
	out = append(out, pngChunk("tEXt", text)...)
	out = append(out, base[ihdrEnd:]...)
	if len(out) != size {
		t.Fatalf("paddedPNG: built %d bytes, want %d", len(out), size)
	}
	if _, err := png.Decode(bytes.NewReader(out)); err != nil {
		t.Fatalf("paddedPNG: not a valid PNG: %v", err)
	}
	return out
}

// pngHeader is a PNG whose IHDR claims w×h (with a correct CRC) followed by IEND: enough
// for a header check, with no pixels at all.
func pngHeader(w, h int) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	out := append([]byte(pngSig), pngChunk("IHDR", ihdr)...)
	return append(out, pngChunk("IEND", nil)...)
}

// animatedGIF is a 300×300 GIF of two frames.
func animatedGIF(t testing.TB) []byte {
	t.Helper()
	g := &gif.GIF{}
	for i := 0; i < 2; i++ {
		f := image.NewPaletted(image.Rect(0, 0, 300, 300), palette.Plan9)
		for y := 0; y < 300; y++ {
			for x := 0; x < 300; x++ {
				f.SetColorIndex(x, y, uint8((x+y+i*50)%256))
			}
		}
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bmpBytes is the start of a BMP file: a format we recognize and refuse.
func bmpBytes() []byte {
	b := make([]byte, 54+300)
	copy(b, "BM")
	binary.LittleEndian.PutUint32(b[2:], uint32(len(b)))
	binary.LittleEndian.PutUint32(b[10:], 54)
	binary.LittleEndian.PutUint32(b[14:], 40)
	binary.LittleEndian.PutUint32(b[18:], 10)
	binary.LittleEndian.PutUint32(b[22:], 10)
	return b
}

// stillGIF is a 300×300 GIF of one frame.
func stillGIF(t testing.TB) []byte {
	t.Helper()
	f := image.NewPaletted(image.Rect(0, 0, 300, 300), palette.Plan9)
	for y := 0; y < 300; y++ {
		for x := 0; x < 300; x++ {
			f.SetColorIndex(x, y, uint8((x*3+y)%256))
		}
	}
	var b bytes.Buffer
	if err := gif.Encode(&b, f, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
