package apf

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

func srcDir() string {
	if d := os.Getenv("APF_SOURCE_DIR"); d != "" {
		return d
	}
	return "../.."
}

func modelPath(name string) string {
	if d := os.Getenv("APF_MODELS_DIR"); d != "" {
		return filepath.Join(d, name)
	}
	return filepath.Join(srcDir(), "models", name)
}

func sampleFace(t *testing.T, i int) *Image {
	t.Helper()
	dir := filepath.Join(srcDir(), "examples", "faces")
	names, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(names) <= i {
		t.Fatalf("sample faces in %s: %v", dir, err)
	}
	sort.Strings(names)
	img, err := LoadImage(names[i])
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestImageAndErrors(t *testing.T) {
	img := sampleFace(t, 0)
	if img.Width != 112 || img.Height != 112 || len(img.Pix) != 112*112*3 {
		t.Fatalf("sample face is %dx%d", img.Width, img.Height)
	}
	path := filepath.Join(t.TempDir(), "x.png")
	if err := img.Save(path, 95); err != nil {
		t.Fatal(err)
	}
	err := img.Save(path, 95)
	if !errors.Is(err, &Error{Status: StatusExists}) {
		t.Fatalf("second save: want StatusExists, got %v", err)
	}
	_, err = LoadImage("/nonexistent/photo.jpg")
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusIO || e.Message == "" {
		t.Fatalf("missing file: got %v", err)
	}
}

func TestProbeGradientBlobAndClose(t *testing.T) {
	x := sampleFace(t, 0).Pix
	p, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Attack: "i-fgsm", Iterations: 5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.Gradient(x, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	nonzero := 0
	for _, v := range g {
		if v < -1 || v > 1 {
			t.Fatalf("g value %d not ternary", v)
		}
		if v != 0 {
			nonzero++
		}
	}
	if nonzero < len(g)/2 {
		t.Fatalf("only %d of %d gradient values are nonzero", nonzero, len(g))
	}
	blob, err := p.GradientBlob(x, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodeBlob(blob)
	if err != nil {
		t.Fatal(err)
	}
	if b.Kind != WireGradient || b.N != 1 || b.Eps != 8 {
		t.Fatalf("blob header %+v", b)
	}
	for i := range g {
		if g[i] != b.Values[i] {
			t.Fatalf("blob value %d differs from gradient", i)
		}
	}
	if _, err := p.Gradient(x[:1000], nil, 112); err == nil {
		t.Fatal("a short face buffer was accepted")
	}
	p.Close()
	if _, err := p.Gradient(x, nil, 112); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed probe: got %v", err)
	}
	if _, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Attack: "nope"}); err == nil {
		t.Fatal("unknown attack accepted")
	}
}

func TestProbeReachBoundsTheNoise(t *testing.T) {
	x := sampleFace(t, 0).Pix
	opts := Options{Attack: "i-fgsm", Iterations: 4, Step: 2, Seed: 5}
	p, err := NewProbe(modelPath("mobilefacenet.apfm"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	g, _ := p.Gradient(x, nil, 112)
	blob, _ := p.GradientBlob(x, nil, 112)
	plain, _ := p.ProtectLocal(x, nil, 112)
	g2, reach, err := p.GradientReach(x, nil, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	blob2, reach2, err := p.GradientBlobReach(x, nil, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	if string(blob2) != string(blob) {
		t.Fatal("the reach changed the wire blob")
	}
	short := 0
	for i := range g {
		if g2[i] != g[i] || reach2[i] != reach[i] || reach[i] > 8 {
			t.Fatalf("value %d: g %d/%d reach %d/%d", i, g[i], g2[i], reach[i], reach2[i])
		}
		if reach[i] < 8 {
			short++
		}
	}
	if short < len(g)/10 {
		t.Fatalf("only %d of %d values moved less than eps", short, len(g))
	}
	noise := make([]int8, len(g))
	for i := range g {
		noise[i] = 8 * g[i]
	}
	if err := LimitNoiseToReach(noise, reach); err != nil {
		t.Fatal(err)
	}
	for i := range g {
		if noise[i] != g[i]*int8(reach[i]) {
			t.Fatalf("value %d: clamped to %d, want %d", i, noise[i], g[i]*int8(reach[i]))
		}
	}
	if err := LimitNoiseToReach(noise, reach[:10]); err == nil {
		t.Fatal("a short reach was accepted")
	}
	if _, _, err := p.GradientReach(x, nil, []float64{1, 2, 3}, 112); err == nil {
		t.Fatal("a placement of 3 values was accepted")
	}
	// ProtectLocal follows the probe's reach_budget
	opts.Set = map[string]string{"reach_budget": "1"}
	q, err := NewProbe(modelPath("mobilefacenet.apfm"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	held, err := q.ProtectLocal(x, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	var l1Held, l1Plain int
	for i := range x {
		d := int(held[i]) - int(x[i])
		if d < 0 {
			d = -d
		}
		if d > int(reach[i]) {
			t.Fatalf("value %d moved %d, reach %d", i, d, reach[i])
		}
		l1Held += d
		e := int(plain[i]) - int(x[i])
		if e < 0 {
			e = -e
		}
		l1Plain += e
	}
	if float64(l1Held) >= 0.95*float64(l1Plain) {
		t.Fatalf("the reach did not shrink the noise: L1 %d against %d", l1Held, l1Plain)
	}
}

func TestProbeEnsemble(t *testing.T) {
	x := sampleFace(t, 0).Pix
	p, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Attack: "fgsm"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.AddModel(modelPath("mobileface.apfm"), 2); err != nil {
		t.Fatal(err)
	}
	if n := p.ModelCount(); n != 2 {
		t.Fatalf("model count %d, want 2", n)
	}
	if err := p.AddModel(modelPath("mobileface.apfm"), 0); err == nil {
		t.Fatal("weight 0 accepted")
	}
	g1, err := p.Gradient(x, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	if p.ModelSamples(1) != 1 || p.ModelSamples(2) != 0 {
		t.Fatalf("samples %d, %d; want 1 and 0 (no model 2)", p.ModelSamples(1), p.ModelSamples(2))
	}
	if err := p.SetModelSamples(1, 4); err != nil || p.ModelSamples(1) != 4 {
		t.Fatalf("set samples: %v, now %d", err, p.ModelSamples(1))
	}
	for _, bad := range [][2]int{{2, 4}, {1, 0}, {1, 17}, {-1, 2}} {
		if err := p.SetModelSamples(bad[0], bad[1]); err == nil {
			t.Fatalf("samples %v accepted", bad)
		}
	}
	// FGSM has no input diversity: further samples would repeat the face, so none run
	g4, err := p.Gradient(x, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	for i := range g1 {
		if g1[i] != g4[i] {
			t.Fatalf("value %d: samples changed an attack without input diversity", i)
		}
	}
	if p.ModelPeriod(1) != 1 || p.ModelPeriod(2) != 0 {
		t.Fatalf("period %d, %d; want 1 and 0 (no model 2)", p.ModelPeriod(1), p.ModelPeriod(2))
	}
	if err := p.SetModelPeriod(1, 2); err != nil || p.ModelPeriod(1) != 2 {
		t.Fatalf("set period: %v, now %d", err, p.ModelPeriod(1))
	}
	for _, bad := range [][2]int{{2, 2}, {1, 0}, {1, 9}, {-1, 2}} {
		if err := p.SetModelPeriod(bad[0], bad[1]); err == nil {
			t.Fatalf("period %v accepted", bad)
		}
	}
	// FGSM runs one iteration, and the first one runs every model
	g2, err := p.Gradient(x, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	for i := range g1 {
		if g1[i] != g2[i] {
			t.Fatalf("value %d: a period changed a one-iteration attack", i)
		}
	}
}

func TestProbeDecoys(t *testing.T) {
	x, decoy := sampleFace(t, 0).Pix, sampleFace(t, 3).Pix
	p, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Attack: "i-fgsm", Iterations: 3, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	gRandom, err := p.Gradient(x, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetDecoys(decoy, 112); err != nil || p.DecoyCount() != 1 {
		t.Fatalf("set decoys: %v, count %d", err, p.DecoyCount())
	}
	if err := p.SetDecoys(decoy[:100], 112); err == nil || p.DecoyCount() != 1 {
		t.Fatalf("a partial face accepted (%v) or the decoys lost (%d)", err, p.DecoyCount())
	}
	gDecoy, err := p.Gradient(x, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetDecoys(nil, 0); err != nil || p.DecoyCount() != 0 {
		t.Fatalf("remove decoys: %v, count %d", err, p.DecoyCount())
	}
	gAgain, err := p.Gradient(x, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	same := func(a, b []int8) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if same(gRandom, gDecoy) || !same(gRandom, gAgain) {
		t.Fatal("decoys changed nothing, or removing them did not give random directions back")
	}
}

func TestSplitProtects(t *testing.T) {
	x := sampleFace(t, 2)
	p, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := NewCloudFilter(filepath.Join(srcDir(), "weights", "transfer.apfm"), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	gBlob, err := p.GradientBlob(x.Pix, nil, 112)
	if err != nil {
		t.Fatal(err)
	}
	sBlob, err := c.Filter(gBlob)
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeBlob(sBlob)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != WireNoise {
		t.Fatalf("cloud returned kind %d", s.Kind)
	}
	prot, err := ApplyPerturbation(x.Pix, s.Values, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range prot {
		d := int(prot[i]) - int(x.Pix[i])
		if d > 8 || d < -8 {
			t.Fatalf("pixel %d moved by %d > eps", i, d)
		}
	}
	ssim, err := SSIM(x, &Image{112, 112, prot})
	if err != nil || ssim < 0.7 || ssim >= 1 {
		t.Fatalf("SSIM %v, %v", ssim, err)
	}
	m, err := LoadModel(modelPath("mobilefacenet.apfm"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	toF := func(b []byte) []float32 {
		f := make([]float32, len(b))
		for i, v := range b {
			f[i] = float32(v)
		}
		return f
	}
	e0, err := m.Embed(toF(x.Pix), 112)
	if err != nil {
		t.Fatal(err)
	}
	e1, _ := m.Embed(toF(prot), 112)
	var dot float32
	for i := range e0 {
		dot += e0[i] * e1[i]
	}
	if dot > 0.9 {
		t.Fatalf("probe still sees the protected face as the same (cos %.3f)", dot)
	}
	if _, err := c.Filter(append([]byte("APFW"), make([]byte, 60)...)); err == nil {
		t.Fatal("cloud accepted a hostile blob")
	}
}

func TestEvaluatorAndConcurrentHandles(t *testing.T) {
	a, b := sampleFace(t, 0).Pix, sampleFace(t, 1).Pix
	ev, err := NewEvaluator([]string{modelPath("mobilefacenet.apfm")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	sim, err := ev.Similarity(0, append(a, a...), append(a, b...), 112)
	if err != nil {
		t.Fatal(err)
	}
	if sim[0] < 0.9999 || sim[1] >= sim[0] {
		t.Fatalf("similarities %v", sim)
	}
	// Two goroutines with their own probes agree with one sequential probe.
	ref, _ := NewProbe(modelPath("mobilefacenet.apfm"), Options{Attack: "fgsm", Seed: 1})
	want, _ := ref.Gradient(a, nil, 112)
	ref.Close()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			q, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Attack: "fgsm", Seed: 1, Threads: 1})
			if err != nil {
				errs[i] = err
				return
			}
			defer q.Close()
			got, err := q.Gradient(a, nil, 112)
			if err == nil {
				for j := range got {
					if got[j] != want[j] {
						err = errors.New("concurrent gradient differs")
						break
					}
				}
			}
			errs[i] = err
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestProbeOptionsFromC(t *testing.T) {
	d, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Iterations: 3,
		Set: map[string]string{"momentum": "0", "diversity_prob": "0", "schedule": "rotate", "random_target": "0",
			"smooth_sigma": "1.5", "reach_budget": "1", "diversity_jpeg": "60",
			"ssim_floor": "0.75", "diversity_blur": "0.25", "diversity_blur_sigma": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for name, want := range map[string]float64{"momentum": 0, "diversity_prob": 0, "schedule": 1,
		"random_target": 0, "iterations": 3, "smooth_sigma": 1.5, "reach_budget": 1, "diversity_jpeg": 60,
		"ssim_floor": 0.75, "diversity_blur": 0.25, "diversity_blur_sigma": 2} {
		if v, err := p.Option(name); err != nil || v != want {
			t.Fatalf("%s = %v (%v), want %v", name, v, err, want)
		}
	}
	// fields not set are the C library's defaults, not the binding's
	for _, name := range []string{"eps", "step", "offset_range", "attack"} {
		a, _ := d.Option(name)
		b, _ := p.Option(name)
		if a != b || (name == "eps" && a == 0) {
			t.Fatalf("%s: %v vs default %v", name, b, a)
		}
	}
	if _, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Set: map[string]string{"momentun": "1"}}); err == nil {
		t.Fatal("unknown option accepted")
	}
}

func TestProbeSetOptions(t *testing.T) {
	p, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Attack: "i-fgsm", Iterations: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SetOptions(Options{Iterations: 5, Eps: 6}); err != nil {
		t.Fatal(err)
	}
	if v, _ := p.Option("iterations"); v != 5 {
		t.Fatalf("iterations %v after SetOptions", v)
	}
	if v, _ := p.Option("attack"); v != 1 {
		t.Fatalf("attack %v: a field not set must keep what the probe ran with", v)
	}
	if err := p.SetOptions(Options{Eps: -1}); err == nil {
		t.Fatal("eps -1 accepted")
	}
	if v, _ := p.Option("eps"); v != 6 {
		t.Fatalf("eps %v after a refused change", v)
	}
}
