package apf

import (
	"path/filepath"
	"testing"
)

// testPhoto loads a photo under the source tree (path parts after srcDir).
func testPhoto(t *testing.T, parts ...string) *Image {
	t.Helper()
	img, err := LoadImage(filepath.Join(append([]string{srcDir()}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testDetector loads BlazeFace at its default threshold, closed when the test ends.
func testDetector(t *testing.T) *Detector {
	t.Helper()
	d, err := NewDetector(modelPath("blazeface.apfm"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestPhotoDetectCropProtect(t *testing.T) {
	photo := testPhoto(t, "examples", "photos", "Abdel_Aziz_Al-Hakim_0001.jpg")
	d := testDetector(t)
	faces, err := d.Detect(photo, 8)
	if err != nil || len(faces) == 0 || faces[0].Score < 0.5 {
		t.Fatalf("faces %v, %v", faces, err)
	}
	m, err := faces[0].AlignMatrix()
	if err != nil {
		t.Fatal(err)
	}
	crop, err := CropFace(photo, m)
	if err != nil || len(crop) != 112*112*3 {
		t.Fatalf("crop: %v", err)
	}
	noise := make([]int8, 112*112*3)
	for i := range noise {
		noise[i] = int8(i%17) - 8
	}
	prot := &Image{photo.Width, photo.Height, append([]byte(nil), photo.Pix...)}
	if err := AddFaceNoise(prot, photo, m, noise, 8); err != nil {
		t.Fatal(err)
	}
	changed := 0
	for i := range prot.Pix {
		dv := int(prot.Pix[i]) - int(photo.Pix[i])
		if dv > 8 || dv < -8 {
			t.Fatalf("pixel %d moved by %d", i, dv)
		}
		if dv != 0 {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("no pixel changed")
	}
	var degenerate Face
	if _, err := degenerate.AlignMatrix(); err == nil {
		t.Fatal("degenerate landmarks accepted")
	}
	// the attack placed in the photo: ternary g; a wrong matrix count refused
	p, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Attack: "i-fgsm", Iterations: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	g, err := p.GradientPlaced(crop, nil, m[:], 112)
	if err != nil || len(g) != len(crop) {
		t.Fatalf("placed gradient: %v", err)
	}
	for _, v := range g {
		if v < -1 || v > 1 {
			t.Fatalf("g value %d", v)
		}
	}
	if _, err := p.GradientPlaced(crop, nil, m[:5], 112); err == nil {
		t.Fatal("5 matrix values accepted for one face")
	}
}

func TestPhotoJobTwoSteps(t *testing.T) {
	photo := testPhoto(t, "examples", "photos", "Abdel_Aziz_Al-Hakim_0001.jpg")
	d := testDetector(t)
	p, err := NewProbe(modelPath("mobilefacenet.apfm"), Options{Attack: "fgsm", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	job, err := NewPhotoJob(photo, p, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	faces, err := job.Faces()
	if err != nil || len(faces) == 0 {
		t.Fatalf("faces %v, %v", faces, err)
	}
	g, err := job.GradientBlob()
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodeBlob(g)
	if err != nil || b.Kind != WireGradient || b.N != len(faces) {
		t.Fatalf("gradient blob %+v, %v", b, err)
	}
	// a gradient is not noise: refused
	if _, err := job.Apply(g, 0); err == nil {
		t.Fatal("a gradient blob was applied as noise")
	}
	b.Kind = WireNoise
	for i := range b.Values {
		b.Values[i] *= 8
	}
	s, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	prot, err := job.Apply(s, 0)
	if err != nil {
		t.Fatal(err)
	}
	changed, worst := 0, 0
	for i := range prot.Pix {
		dv := int(prot.Pix[i]) - int(photo.Pix[i])
		if dv < 0 {
			dv = -dv
		}
		if dv > 0 {
			changed++
		}
		if dv > worst {
			worst = dv
		}
	}
	if worst > 8 || changed < 1000 {
		t.Fatalf("protected photo: %d values changed, worst %d", changed, worst)
	}
	// faces given: no detector needed
	job2, err := NewPhotoJob(photo, p, nil, faces[:1])
	if err != nil {
		t.Fatal(err)
	}
	defer job2.Close()
	if f, _ := job2.Faces(); len(f) != 1 {
		t.Fatalf("given faces: %d", len(f))
	}
	if _, err := NewPhotoJob(photo, p, nil, nil); err == nil {
		t.Fatal("a job without faces or detector was made")
	}
}

func TestFaceCheckDropsACat(t *testing.T) {
	cat := testPhoto(t, "tests", "data", "animals", "chelsea.jpg")
	man := testPhoto(t, "examples", "photos", "Aaron_Eckhart_0001.jpg")
	d := testDetector(t)
	found, err := d.Detect(cat, 4)
	if err != nil || len(found) == 0 {
		t.Fatalf("without the check the cat should be found: %v, %v", found, err)
	}
	if err := d.SetFaceCheck(modelPath("facemesh.apfm"), FaceCheckMinScore); err != nil {
		t.Fatal(err)
	}
	if s, err := d.FaceScore(cat, found[0]); err != nil || s >= 0.1 {
		t.Fatalf("cat's face score %v, %v", s, err)
	}
	if f, err := d.Detect(cat, 4); err != nil || len(f) != 0 || d.RejectedCount() != 1 {
		t.Fatalf("the cat was kept: %v, %v, rejected %d", f, err, d.RejectedCount())
	}
	faces, err := d.Detect(man, 4)
	if err != nil || len(faces) != 1 {
		t.Fatalf("the man: %v, %v", faces, err)
	}
	if s, err := d.FaceScore(man, faces[0]); err != nil || s <= 0.9 {
		t.Fatalf("man's face score %v, %v", s, err)
	}
	if err := d.SetFaceCheck(modelPath("blazeface.apfm"), 0.2); err == nil {
		t.Fatal("a detector model was taken as the face check")
	}
}
