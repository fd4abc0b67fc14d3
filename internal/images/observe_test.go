package images

import (
	"slices"
	"testing"
	"time"
)

// TestObserveSteps: the metrics' image step histogram hears each step that ran, in order.
func TestObserveSteps(t *testing.T) {
	jpeg := encJPEG(t, genPhoto(800, 600, 1, 4), 85)
	tests := []struct {
		name string
		run  func(Options) error
		want []string
	}{
		{"upload", func(o Options) error { _, err := Process(jpeg, o); return err }, []string{"header", "strip", "decode", "analyse"}},
		{"refused at the header", func(o Options) error {
			o.MaxPixels = 1000
			_, err := Process(jpeg, o)
			if err == nil {
				t.Error("a too large image was accepted")
			}
			return nil
		}, []string{"header"}},
		{"fit", func(o Options) error { o.Fit = true; _, err := Process(jpeg, o); return err }, []string{"fit"}},
		{"stitch", func(o Options) error { _, err := Stitch([][]byte{jpeg, jpeg}, o); return err }, []string{"stitch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var steps []string
			o := Options{Observe: func(step string, d time.Duration) {
				if d < 0 {
					t.Errorf("%s took %v", step, d)
				}
				steps = append(steps, step)
			}}
			if err := tt.run(o); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(steps, tt.want) {
				t.Fatalf("steps %v, want %v", steps, tt.want)
			}
		})
	}
}
