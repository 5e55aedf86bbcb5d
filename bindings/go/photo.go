package apf

import "libapf.org/apf/internal/capi"

// faceFloats is the shim's layout of one face: score, box, 5 landmarks, flag.
const faceFloats = 16

// Face is a face in a photo. Landmarks are in ArcFace order: image-left
// eye, image-right eye, nose, mouth corners (BlazeFace gives the mouth
// centre in both, with MouthCentreOnly set).
type Face struct {
	Score           float32
	Box             [4]float32 // x0, y0, x1, y1
	Landmarks       [5][2]float32
	MouthCentreOnly bool
}

// faceFromRow reads the shim's layout of one face.
func faceFromRow(r []float32) Face {
	f := Face{Score: r[0], MouthCentreOnly: r[15] != 0}
	copy(f.Box[:], r[1:5])
	for k := 0; k < 5; k++ {
		f.Landmarks[k] = [2]float32{r[5+2*k], r[6+2*k]}
	}
	return f
}

func (f *Face) row() []float32 {
	r := make([]float32, faceFloats)
	r[0] = f.Score
	copy(r[1:5], f.Box[:])
	for i := 0; i < 5; i++ {
		r[5+2*i], r[6+2*i] = f.Landmarks[i][0], f.Landmarks[i][1]
	}
	if f.MouthCentreOnly {
		r[15] = 1
	}
	return r
}

// AlignMatrix is the 2x3 row-major matrix from the aligned 112x112 face to
// photo coordinates.
func (f *Face) AlignMatrix() ([6]float64, error) {
	var m [6]float64
	err := call(func() int { return capi.Apfs_face_align(f.row(), m[:]) })
	return m, err
}

// Detector finds faces (models/blazeface.apfm).
type Detector struct {
	handle
	p capi.Apf_detector
}

// NewDetector loads the detector; minScore in (0, 1), 0 for the default 0.5.
func NewDetector(path string, minScore float32) (*Detector, error) {
	d := &Detector{}
	if err := call(func() int {
		st := []int{0}
		d.p = capi.Apfs_detector_create(path, st)
		return st[0]
	}); err != nil {
		return nil, err
	}
	if minScore != 0 {
		if err := call(func() int { return capi.Apfs_detector_set_threshold(d.p, minScore) }); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

// Close releases the detector.
func (d *Detector) Close() error { d.close(func() { capi.Apfs_detector_free(d.p) }); return nil }

// FaceCheckMinScore is apf protect's face-check threshold
// (APF_FACE_CHECK_MIN_SCORE).
const FaceCheckMinScore = 0.2

// SetFaceCheck makes Detect leave out detections that are not a person's
// face (an animal's): path is models/facemesh.apfm ("" removes the check);
// detections it scores below minScore (0..1; 0 keeps all) are dropped.
func (d *Detector) SetFaceCheck(path string, minScore float32) error {
	return d.use(func() error {
		return call(func() int { return capi.Apfs_detector_set_face_check(d.p, path, minScore) })
	})
}

// FaceScore is the face check's score, 0..1, of a face in the photo.
func (d *Detector) FaceScore(img *Image, f Face) (float32, error) {
	score := []float32{0}
	err := d.use(func() error {
		return call(func() int {
			return capi.Apfs_detector_face_score(d.p, img.Pix, img.Width, img.Height, f.row(), score)
		})
	})
	return score[0], err
}

// RejectedCount is how many detections the face check dropped in the last
// Detect.
func (d *Detector) RejectedCount() int {
	n := 0
	d.use(func() error { n = capi.Apfs_detector_rejected_count(d.p); return nil })
	return n
}

// Detect returns up to maxFaces faces in the photo, best first.
func (d *Detector) Detect(img *Image, maxFaces int) ([]Face, error) {
	if maxFaces < 1 {
		maxFaces = 64
	}
	buf := make([]float32, maxFaces*faceFloats)
	n := []int{0}
	err := d.use(func() error {
		return call(func() int { return capi.Apfs_detect(d.p, img.Pix, img.Width, img.Height, buf, n) })
	})
	if err != nil {
		return nil, err
	}
	if n[0] > maxFaces {
		n[0] = maxFaces
	}
	faces := make([]Face, n[0])
	for i := range faces {
		faces[i] = faceFromRow(buf[i*faceFloats:])
	}
	return faces, nil
}

// CropFace cuts the aligned 112x112 face (RGB bytes) out of a photo.
func CropFace(img *Image, m [6]float64) ([]byte, error) {
	out := make([]byte, 112*112*3)
	err := call(func() int { return capi.Apfs_face_crop(img.Pix, img.Width, img.Height, m[:], out) })
	return out, err
}

// AddFaceNoise maps an aligned face's noise onto protected (updated in
// place), keeping every pixel within eps of original.
func AddFaceNoise(protected, original *Image, m [6]float64, noise []int8, eps float32) error {
	if protected.Width != original.Width || protected.Height != original.Height {
		return &Error{StatusInvalid, "protected and original differ in size"}
	}
	return call(func() int {
		return capi.Apfs_face_add_noise(protected.Pix, original.Pix, original.Width, original.Height, m[:], noise, eps)
	})
}

// PhotoJob is one photo between the device's two steps (the library's
// apf_photo_job): NewPhotoJob finds the faces (or takes the caller's),
// aligns them and computes g; GradientBlob is the only thing to send;
// Apply checks the cloud's noise blob and returns the protected photo. The
// job keeps its own copy of the photo's pixels; the probe must stay open
// while the job is used.
type PhotoJob struct {
	handle
	j      capi.Struct_SS_apfs_job
	probe  *Probe
	width  int
	height int
}

// NewPhotoJob runs step 1. With faces nil the detector finds them; with
// faces given the detector may be nil.
func NewPhotoJob(img *Image, probe *Probe, det *Detector, faces []Face) (*PhotoJob, error) {
	if faces == nil && det == nil {
		return nil, &Error{StatusInvalid, "a photo job needs a detector unless faces are given"}
	}
	if faces != nil && len(faces) == 0 {
		return nil, &Error{StatusInvalid, "faces is empty: give faces, or nil to detect"}
	}
	rows := make([]float32, 0, len(faces)*faceFloats)
	for i := range faces {
		rows = append(rows, faces[i].row()...)
	}
	job := &PhotoJob{probe: probe, width: img.Width, height: img.Height}
	create := func() error {
		return call(func() int {
			st := []int{0}
			var d capi.Apf_detector = capi.SwigcptrApf_detector(0)
			if faces == nil {
				d = det.p
			}
			job.j = capi.Apfs_job_create(probe.p, d, img.Pix, img.Width, img.Height, rows, st)
			return st[0]
		})
	}
	var err error
	if faces == nil {
		// the detector is in use during step 1 only
		err = det.use(func() error { return probe.use(create) })
	} else {
		err = probe.use(create)
	}
	if err != nil {
		return nil, err
	}
	return job, nil
}

// Close releases the job.
func (j *PhotoJob) Close() error { j.close(func() { capi.Apfs_job_free(j.j) }); return nil }

// Faces are the faces the job protects, in photo coordinates.
func (j *PhotoJob) Faces() ([]Face, error) {
	var faces []Face
	err := j.use(func() error {
		n := capi.Apfs_job_face_count(j.j)
		if n <= 0 {
			return nil
		}
		buf := make([]float32, n*faceFloats)
		if err := call(func() int { return capi.Apfs_job_faces(j.j, buf) }); err != nil {
			return err
		}
		faces = make([]Face, n)
		for i := range faces {
			faces[i] = faceFromRow(buf[i*faceFloats:])
		}
		return nil
	})
	return faces, err
}

// GradientBlob is the bytes to send to the cloud filter (empty when the
// photo has no face).
func (j *PhotoJob) GradientBlob() ([]byte, error) {
	var out []byte
	err := j.use(func() (err error) {
		if capi.Apfs_job_face_count(j.j) <= 0 {
			out = []byte{}
			return nil
		}
		out, err = callBuffer(func(st []int) capi.Struct_SS_apfs_buffer {
			return capi.Apfs_job_gradient_blob(j.j, st)
		})
		return err
	})
	return out, err
}

// Apply runs step 2: a reply that is not noise for these faces within the
// probe's eps is refused before anything is applied. keepMetadata is the
// library's APF_METADATA_KEEP_* bits (0: the privacy policy).
func (j *PhotoJob) Apply(noiseBlob []byte, keepMetadata int) (*Image, error) {
	out := &Image{Width: j.width, Height: j.height, Pix: make([]byte, j.width*j.height*3)}
	err := j.use(func() error {
		return j.probe.use(func() error {
			return call(func() int { return capi.Apfs_job_apply(j.j, noiseBlob, keepMetadata, out.Pix) })
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
