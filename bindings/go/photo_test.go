package apf

import (
	"path/filepath"
	"testing"
)

func TestPhotoDetectCropProtect(t *testing.T) {
	photo, err := LoadImage(filepath.Join(srcDir(), "examples", "photos", "Abdel_Aziz_Al-Hakim_0001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDetector(modelPath("blazeface.apfm"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
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
}
