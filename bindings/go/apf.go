// Package apf is the Go binding of libapf: it protects face photos from face
// recognition (Adversarial Privacy-preserving Filter, ACM MM 2020).
//
// Images are RGB bytes, row-major (Image.Pix); batches of aligned faces are
// n*size*size*3 bytes; gradients and noise are []int8; embeddings []float32.
// Errors are values of type *Error carrying libapf's status and message.
// Every handle has Close(); a handle may be used from one goroutine at a
// time (each method locks it), distinct handles run in parallel.
//
// The package links the C library through pkg-config (`apf`). Its SWIG layer
// (internal/capi) is generated with `go generate ./...` (swig 4.1).
package apf

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"libapf.org/apf/internal/capi"
)

// Status is a libapf status code (apf_status in C).
type Status int

// The status codes of libapf.
const (
	StatusOK          Status = 0
	StatusInvalid     Status = 1
	StatusNoMem       Status = 2
	StatusIO          Status = 3
	StatusFormat      Status = 4
	StatusUnsupported Status = 5
	StatusChecksum    Status = 6
	StatusLimit       Status = 7
	StatusBackend     Status = 8
	StatusState       Status = 9
	StatusExists      Status = 10
	StatusNumeric     Status = 11
)

// String is the C library's short description of the status.
func (s Status) String() string { return capi.Apfs_status_string(int(s)) }

// Error is a failed libapf call.
type Error struct {
	Status  Status // what kind of failure
	Message string // libapf's explanation
}

func (e *Error) Error() string { return fmt.Sprintf("apf: %s: %s", e.Status, e.Message) }

// Is makes errors.Is(err, &apf.Error{Status: apf.StatusExists}) match by status.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Status == e.Status
}

// ErrClosed is returned by methods of a handle after Close.
var ErrClosed = &Error{Status: StatusState, Message: "handle is closed"}

// call runs f on one OS thread so the thread-local message libapf leaves
// on failure is read from the thread that failed.
func call(f func() int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if st := f(); st != 0 {
		return &Error{Status: Status(st), Message: capi.Apfs_last_error()}
	}
	return nil
}

// callBuffer runs a shim call that returns a result buffer (its status in
// st[0]) and returns a copy of the buffer's bytes.
func callBuffer(f func(st []int) capi.Struct_SS_apfs_buffer) ([]byte, error) {
	var buf capi.Struct_SS_apfs_buffer
	if err := call(func() int {
		st := []int{0}
		buf = f(st)
		return st[0]
	}); err != nil {
		return nil, err
	}
	return takeBuffer(buf)
}

// takeBuffer copies and frees a result buffer of the shim.
func takeBuffer(b capi.Struct_SS_apfs_buffer) ([]byte, error) {
	defer capi.Apfs_buffer_free(b)
	out := make([]byte, capi.Apfs_buffer_size(b))
	if err := call(func() int { return capi.Apfs_buffer_copy(b, out) }); err != nil {
		return nil, err
	}
	return out, nil
}

// Version is the loaded C library's version, e.g. "0.1.0".
func Version() string { return capi.Apfs_version() }

// faceCount checks a face batch and returns how many faces of size x size it holds.
func faceCount(faces []byte, size int) (int, error) {
	per := size * size * 3
	if size <= 0 || len(faces) == 0 || len(faces)%per != 0 {
		return 0, &Error{StatusInvalid, fmt.Sprintf("%d bytes is not a whole number of %dx%d RGB faces", len(faces), size, size)}
	}
	return len(faces) / per, nil
}

// Image is an 8-bit RGB image.
type Image struct {
	Width, Height int
	Pix           []byte // Height*Width*3 bytes, row-major RGB
}

// LoadImage reads a JPEG or PNG file (EXIF orientation applied).
func LoadImage(path string) (*Image, error) {
	var img capi.Apf_image
	if err := call(func() int {
		st := []int{0}
		img = capi.Apfs_image_load(path, st)
		return st[0]
	}); err != nil {
		return nil, err
	}
	defer capi.Apfs_image_free(img)
	out := &Image{Width: capi.Apfs_image_width(img), Height: capi.Apfs_image_height(img)}
	out.Pix = make([]byte, out.Width*out.Height*3)
	if err := call(func() int { return capi.Apfs_image_copy(img, out.Pix) }); err != nil {
		return nil, err
	}
	return out, nil
}

// Save writes the image as PNG or JPEG (by the path's extension). It never
// overwrites: an existing path gives an error with StatusExists.
func (img *Image) Save(path string, jpegQuality int) error {
	return call(func() int { return capi.Apfs_image_save(img.Pix, img.Width, img.Height, path, jpegQuality) })
}

// ApplyPerturbation returns clip(faces + scale*values, 0, 255). With a
// probe's g and scale eps it is the end-only APF_g; with decoded cloud
// noise and scale 1 the protected faces.
func ApplyPerturbation(faces []byte, values []int8, scale float32) ([]byte, error) {
	out := make([]byte, len(faces))
	if err := call(func() int { return capi.Apfs_apply(faces, values, scale, out) }); err != nil {
		return nil, err
	}
	return out, nil
}

// SSIM is the structural similarity (11x11 Gaussian, Wang et al. 2004) of two images.
func SSIM(a, b *Image) (float64, error) {
	if a.Width != b.Width || a.Height != b.Height {
		return 0, &Error{StatusInvalid, "images differ in size"}
	}
	v := []float64{0}
	err := call(func() int { return capi.Apfs_ssim(a.Pix, b.Pix, a.Width, a.Height, v) })
	return v[0], err
}

// WireKind tells what a blob carries.
type WireKind int

// The blob kinds.
const (
	WireGradient WireKind = 0 // g from the device: values in {-1, 0, 1}
	WireNoise    WireKind = 1 // s from the cloud: pixel offsets in [-eps, eps]
)

// Blob is a decoded wire blob.
type Blob struct {
	Kind             WireKind
	Algorithm        int
	N, Height, Width int
	Eps              float32
	ModelHash        uint64
	Values           []int8 // N*Height*Width*3
}

// DecodeBlob decodes and strictly validates a gradient or noise blob.
func DecodeBlob(data []byte) (*Blob, error) {
	var w capi.Struct_SS_apfs_wire
	if err := call(func() int {
		st := []int{0}
		w = capi.Apfs_wire_decode(data, st)
		return st[0]
	}); err != nil {
		return nil, err
	}
	defer capi.Apfs_wire_free(w)
	b := &Blob{Kind: WireKind(capi.Apfs_wire_kind(w)), Algorithm: capi.Apfs_wire_algorithm(w),
		N: capi.Apfs_wire_n(w), Height: capi.Apfs_wire_height(w), Width: capi.Apfs_wire_width(w),
		Eps: capi.Apfs_wire_eps(w), ModelHash: capi.Apfs_wire_model_hash(w)}
	b.Values = make([]int8, b.N*b.Height*b.Width*3)
	if err := call(func() int { return capi.Apfs_wire_values(w, b.Values) }); err != nil {
		return nil, err
	}
	return b, nil
}

// Encode turns the blob back into bytes.
func (b *Blob) Encode() ([]byte, error) {
	return callBuffer(func(st []int) capi.Struct_SS_apfs_buffer {
		return capi.Apfs_wire_encode(int(b.Kind), b.Algorithm, b.N, b.Height, b.Width, b.Eps,
			b.ModelHash, b.Values, st)
	})
}

// handle is the lock and closed flag every wrapper shares.
type handle struct {
	mu     sync.Mutex
	closed bool
}

// use locks the handle for one call, failing once it is closed.
func (h *handle) use(f func() error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	return f()
}

// close runs free once.
func (h *handle) close(free func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		free()
		h.closed = true
	}
}

// Model is a face-recognition model loaded from a .apfm file.
type Model struct {
	handle
	p capi.Apf_model
}

// LoadModel loads a model; threads 0 keeps the OpenMP default.
func LoadModel(path string, threads int) (*Model, error) {
	m := &Model{}
	if err := call(func() int {
		st := []int{0}
		m.p = capi.Apfs_model_load(path, st)
		return st[0]
	}); err != nil {
		return nil, err
	}
	if threads > 0 {
		if err := call(func() int { return capi.Apfs_model_set_threads(m.p, threads) }); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

// Close releases the model.
func (m *Model) Close() error { m.close(func() { capi.Apfs_model_free(m.p) }); return nil }

// Name is the model's name.
func (m *Model) Name() string { return capi.Apfs_model_name(m.p) }

// Dim is the embedding length.
func (m *Model) Dim() int { return capi.Apfs_model_dim(m.p) }

// Embed returns L2-normalised embeddings (n*Dim floats) of n faces given as
// 0..255 RGB floats, n*size*size*3.
func (m *Model) Embed(faces []float32, size int) ([]float32, error) {
	if size <= 0 || len(faces)%(size*size*3) != 0 {
		return nil, &Error{StatusInvalid, "faces are not whole size x size RGB faces"}
	}
	n := len(faces) / (size * size * 3)
	out := make([]float32, n*m.Dim())
	err := m.use(func() error {
		return call(func() int { return capi.Apfs_model_embed(m.p, faces, n, size, out) })
	})
	return out, err
}

// Options configure a Probe. A zero field is not sent: it takes libapf's
// default, which lives in C only (apf_probe_options). Set is for any field
// by its C name, including the ones a zero value cannot express
// ("momentum": "0", "diversity_prob": "0", "random_target": "0",
// "schedule": "rotate", "texture_ssim", "offset_fraction", "offset_range",
// "g_flip", "g_drop", "smooth_sigma", "reach_budget", "diversity_jpeg",
// "ssim_floor", "diversity_blur", "diversity_blur_sigma").
type Options struct {
	Attack        string  // "fgsm", "i-fgsm", "mi-fgsm", "di2-fgsm", "m-di2-fgsm"
	Eps, Step     float32 // in 0..255 pixel units
	Iterations    int
	Momentum      float32
	DiversityProb float32
	NoEnrolOffset bool // turn off the Eq. 13 offset delta
	Seed          uint64
	Threads       int
	Set           map[string]string
}

// spec is the options as the shim's "name=value" list.
func (o Options) spec() (string, error) {
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+v) }
	if o.Attack != "" {
		add("attack", strings.ToLower(o.Attack))
	}
	f := func(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }
	if o.Eps != 0 {
		add("eps", f(o.Eps))
	}
	if o.Step != 0 {
		add("step", f(o.Step))
	}
	if o.Iterations != 0 {
		add("iterations", strconv.Itoa(o.Iterations))
	}
	if o.Momentum != 0 {
		add("momentum", f(o.Momentum))
	}
	if o.DiversityProb != 0 {
		add("diversity_prob", f(o.DiversityProb))
	}
	if o.NoEnrolOffset {
		add("enrol_offset", "0")
	}
	if o.Seed != 0 {
		add("seed", strconv.FormatUint(o.Seed, 10))
	}
	if o.Threads != 0 {
		add("threads", strconv.Itoa(o.Threads))
	}
	keys := make([]string, 0, len(o.Set))
	for k := range o.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := o.Set[k]
		if k == "" || v == "" || strings.ContainsAny(k+v, " ,=") {
			return "", &Error{StatusInvalid, "probe option " + k + "=" + v}
		}
		add(k, v)
	}
	return strings.Join(parts, " "), nil
}

// Probe is the device side: it computes the adversarial gradient g.
type Probe struct {
	handle
	p   capi.Apf_probe
	eps float32
}

// NewProbe loads the probe model (models/mobilefacenet.apfm) with options.
func NewProbe(modelPath string, opt Options) (*Probe, error) {
	spec, err := opt.spec()
	if err != nil {
		return nil, err
	}
	pr := &Probe{}
	if err := call(func() int {
		st := []int{0}
		pr.p = capi.Apfs_probe_create_with(modelPath, spec, st)
		return st[0]
	}); err != nil {
		return nil, err
	}
	eps, err := pr.Option("eps")
	if err != nil {
		pr.Close()
		return nil, err
	}
	pr.eps = float32(eps)
	return pr, nil
}

// SetOptions changes some options of the probe (its models stay loaded):
// the fields of opt that are set (as NewProbe sends them: zero fields are
// not sent, Set reaches any field) replace what the probe runs with.
// Refused options change nothing.
func (p *Probe) SetOptions(opt Options) error {
	spec, err := opt.spec()
	if err != nil {
		return err
	}
	if err := p.use(func() error {
		return call(func() int { return capi.Apfs_probe_set_options(p.p, spec) })
	}); err != nil {
		return err
	}
	eps, err := p.Option("eps")
	if err == nil {
		p.eps = float32(eps)
	}
	return err
}

// Option is a field of the options the probe runs with (libapf's defaults
// included), by its C name; attack and schedule as their enum numbers.
func (p *Probe) Option(name string) (float64, error) {
	var v float64
	err := p.use(func() error {
		return call(func() int {
			st := []int{0}
			v = capi.Apfs_probe_option(p.p, name, st)
			return st[0]
		})
	})
	return v, err
}

// Close releases the probe.
func (p *Probe) Close() error { p.close(func() { capi.Apfs_probe_free(p.p) }); return nil }

// Gradient computes g (values -1, 0, 1) for faces (n*size*size*3 RGB bytes);
// enrolled is nil (push each face from its own embedding) or the same shape.
func (p *Probe) Gradient(faces, enrolled []byte, size int) ([]int8, error) {
	n, err := faceCount(faces, size)
	if err != nil {
		return nil, err
	}
	g := make([]int8, len(faces))
	err = p.use(func() error {
		return call(func() int { return capi.Apfs_probe_gradient(p.p, faces, enrolled, n, size, g) })
	})
	return g, err
}

// GradientPlaced is Gradient for faces that will be protected inside their
// photos: toImage holds each face's alignment matrix (6 values per face,
// aligned -> photo, as Face.AlignMatrix gives), and the attack goes
// through the noise's round trip into the photo (apf_probe_gradient_placed).
func (p *Probe) GradientPlaced(faces, enrolled []byte, toImage []float64, size int) ([]int8, error) {
	n, err := faceCount(faces, size)
	if err != nil {
		return nil, err
	}
	g := make([]int8, len(faces))
	err = p.use(func() error {
		return call(func() int { return capi.Apfs_probe_gradient_placed(p.p, faces, enrolled, toImage, n, size, g) })
	})
	return g, err
}

// AddModel makes the probe attack another recognizer too (a device
// ensemble, as `apf protect` does with the four bundled ones); weight in
// (0, 100].
func (p *Probe) AddModel(modelPath string, weight float32) error {
	return p.use(func() error {
		return call(func() int { return capi.Apfs_probe_add_model(p.p, modelPath, weight) })
	})
}

// SetModelSamples makes model index (0: the probe model) see samples
// (1..16) transformed copies of each face per iteration and follow their
// summed gradient (apf_probe_set_model_samples).
func (p *Probe) SetModelSamples(index, samples int) error {
	return p.use(func() error {
		return call(func() int { return capi.Apfs_probe_set_model_samples(p.p, index, samples) })
	})
}

// ModelSamples is the samples per iteration of model index (0 for a bad index).
func (p *Probe) ModelSamples(index int) int {
	n := 0
	p.use(func() error { n = capi.Apfs_probe_model_samples(p.p, index); return nil })
	return n
}

// SetModelPeriod makes model index (0: the probe model) run on the first
// iteration and then every period-th (1..8), its last gradient reused in
// between (apf_probe_set_model_period); ensembles only.
func (p *Probe) SetModelPeriod(index, period int) error {
	return p.use(func() error {
		return call(func() int { return capi.Apfs_probe_set_model_period(p.p, index, period) })
	})
}

// ModelPeriod is the refresh period of model index (0 for a bad index).
func (p *Probe) ModelPeriod(index int) int {
	n := 0
	p.use(func() error { n = capi.Apfs_probe_model_period(p.p, index); return nil })
	return n
}

// SetDecoys gives the probe faces of other people (n faces of size x size
// RGB, aligned like the protected faces): the random target pulls each
// protected face toward one decoy's embedding instead of a random
// direction (apf_probe_set_decoys). Empty faces: random directions again.
func (p *Probe) SetDecoys(faces []byte, size int) error {
	n := 0
	if len(faces) > 0 {
		var err error
		if n, err = faceCount(faces, size); err != nil {
			return err
		}
	}
	return p.use(func() error {
		return call(func() int { return capi.Apfs_probe_set_decoys(p.p, faces, n, size) })
	})
}

// DecoyCount is the number of decoy faces the probe holds (SetDecoys).
func (p *Probe) DecoyCount() int {
	n := 0
	p.use(func() error { n = capi.Apfs_probe_decoy_count(p.p); return nil })
	return n
}

// ModelCount is the number of recognizers the probe attacks.
func (p *Probe) ModelCount() int {
	n := 0
	p.use(func() error { n = capi.Apfs_probe_model_count(p.p); return nil })
	return n
}

// GradientBlob is Gradient encoded as the wire blob sent to the cloud.
func (p *Probe) GradientBlob(faces, enrolled []byte, size int) ([]byte, error) {
	n, err := faceCount(faces, size)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = p.use(func() (err error) {
		out, err = callBuffer(func(st []int) capi.Struct_SS_apfs_buffer {
			return capi.Apfs_probe_gradient_blob(p.p, faces, enrolled, n, size, st)
		})
		return err
	})
	return out, err
}

// GradientReach is Gradient (toImage nil) or GradientPlaced, plus each
// value's reach: how far the attack itself moved it, 0 to eps
// (apf_probe_gradient_reach). The reach stays on the device; bound the
// cloud's noise by it with LimitNoiseToReach.
func (p *Probe) GradientReach(faces, enrolled []byte, toImage []float64, size int) ([]int8, []byte, error) {
	n, err := faceCount(faces, size)
	if err != nil {
		return nil, nil, err
	}
	g, reach := make([]int8, len(faces)), make([]byte, len(faces))
	err = p.use(func() error {
		return call(func() int {
			return capi.Apfs_probe_gradient_reach(p.p, faces, enrolled, toImage, n, size, g, reach)
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return g, reach, nil
}

// GradientBlobReach is GradientBlob (the same wire bytes: the reach is not
// in them) plus the reach as GradientReach gives it.
func (p *Probe) GradientBlobReach(faces, enrolled []byte, toImage []float64, size int) ([]byte, []byte, error) {
	n, err := faceCount(faces, size)
	if err != nil {
		return nil, nil, err
	}
	reach := make([]byte, len(faces))
	var out []byte
	err = p.use(func() (err error) {
		out, err = callBuffer(func(st []int) capi.Struct_SS_apfs_buffer {
			return capi.Apfs_probe_gradient_blob_reach(p.p, faces, enrolled, toImage, n, size, reach, st)
		})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, reach, nil
}

// LimitNoiseToReach clamps noise in place to +-reach, value by value, as
// the device does before adding the cloud's noise when its probe's
// reach_budget is on (apf_limit_noise_to_reach).
func LimitNoiseToReach(noise []int8, reach []byte) error {
	return call(func() int { return capi.Apfs_limit_noise_to_reach(noise, reach) })
}

// ProtectLocal is the end-only protection APF_g = clip(x + eps*g); with the
// probe's reach_budget on, eps*g bounded by the attack's reach.
func (p *Probe) ProtectLocal(faces, enrolled []byte, size int) ([]byte, error) {
	budget, err := p.Option("reach_budget")
	if err != nil {
		return nil, err
	}
	if budget == 0 {
		g, err := p.Gradient(faces, enrolled, size)
		if err != nil {
			return nil, err
		}
		return ApplyPerturbation(faces, g, p.eps)
	}
	g, reach, err := p.GradientReach(faces, enrolled, nil, size)
	if err != nil {
		return nil, err
	}
	noise := make([]int8, len(g))
	for i, v := range g {
		noise[i] = int8(math.Max(-127, math.Min(127, math.Round(float64(v)*float64(p.eps)))))
	}
	if err := LimitNoiseToReach(noise, reach); err != nil {
		return nil, err
	}
	return ApplyPerturbation(faces, noise, 1)
}

// CloudFilter is the privacy server's job: gradient blob in, noise blob out.
type CloudFilter struct {
	handle
	t capi.Apf_transfer
	e capi.Apf_enhancer
}

// NewCloudFilter loads the transfer U-Net and the enhancer; an empty path
// leaves that term out (T = identity, no E(u)).
func NewCloudFilter(transferPath, enhancerPath string, threads int) (*CloudFilter, error) {
	c := &CloudFilter{t: capi.SwigcptrApf_transfer(0), e: capi.SwigcptrApf_enhancer(0)}
	if transferPath != "" {
		if err := call(func() int {
			st := []int{0}
			c.t = capi.Apfs_transfer_load(transferPath, st)
			return st[0]
		}); err != nil {
			return nil, err
		}
		if threads > 0 {
			capi.Apfs_transfer_set_threads(c.t, threads)
		}
	}
	if enhancerPath != "" {
		if err := call(func() int {
			st := []int{0}
			c.e = capi.Apfs_enhancer_load(enhancerPath, st)
			return st[0]
		}); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Close releases the filter's networks.
func (c *CloudFilter) Close() error {
	c.close(func() {
		capi.Apfs_transfer_free(c.t)
		capi.Apfs_enhancer_free(c.e)
	})
	return nil
}

// Filter decodes and validates a gradient blob and returns the noise blob.
func (c *CloudFilter) Filter(gBlob []byte) ([]byte, error) {
	var out []byte
	err := c.use(func() (err error) {
		out, err = callBuffer(func(st []int) capi.Struct_SS_apfs_buffer {
			return capi.Apfs_cloud_filter(c.t, c.e, gBlob, st)
		})
		return err
	})
	return out, err
}

// Evaluator holds recognizers for measuring protection.
type Evaluator struct {
	handle
	p capi.Apf_evaluator
}

// NewEvaluator loads the recognizers at paths.
func NewEvaluator(paths []string, threads int) (*Evaluator, error) {
	for _, p := range paths {
		if strings.Contains(p, "\n") {
			return nil, &Error{StatusInvalid, "model path contains a newline"}
		}
	}
	ev := &Evaluator{}
	if err := call(func() int {
		st := []int{0}
		ev.p = capi.Apfs_evaluator_create(strings.Join(paths, "\n"), threads, st)
		return st[0]
	}); err != nil {
		return nil, err
	}
	return ev, nil
}

// ModelNames lists the recognizers' names in index order.
func (ev *Evaluator) ModelNames() []string {
	var names []string
	ev.use(func() error {
		for i := 0; i < capi.Apfs_evaluator_model_count(ev.p); i++ {
			names = append(names, capi.Apfs_evaluator_model_name(ev.p, i))
		}
		return nil
	})
	return names
}

// Close releases the evaluator.
func (ev *Evaluator) Close() error { ev.close(func() { capi.Apfs_evaluator_free(ev.p) }); return nil }

// Similarity returns the cosine similarity of each pair (a[i], b[i]) of
// aligned faces (n*size*size*3 bytes each) under recognizer model.
func (ev *Evaluator) Similarity(model int, a, b []byte, size int) ([]float32, error) {
	n, err := faceCount(a, size)
	if err != nil {
		return nil, err
	}
	sim := make([]float32, n)
	err = ev.use(func() error {
		return call(func() int { return capi.Apfs_evaluator_similarity(ev.p, model, a, b, n, size, sim) })
	})
	return sim, err
}

// Calibrate fits every recognizer's threshold on clean pairs; same[i] is 1
// for a same-person pair.
func (ev *Evaluator) Calibrate(a, b, same []byte, size int) error {
	n, err := faceCount(a, size)
	if err != nil {
		return err
	}
	return ev.use(func() error {
		return call(func() int { return capi.Apfs_evaluator_calibrate(ev.p, a, b, same, n, size) })
	})
}

// ASR is the attack success rate (Eq. 11) over positive pairs (original[i],
// other[i]) when original is replaced by protected; it also returns the
// matched counts before and after.
func (ev *Evaluator) ASR(model int, original, protected, other []byte, size int) (asr float64, before, after int, err error) {
	n, err := faceCount(original, size)
	if err != nil {
		return 0, 0, 0, err
	}
	a, mb, ma := []float64{0}, []int{0}, []int{0}
	err = ev.use(func() error {
		return call(func() int {
			return capi.Apfs_evaluator_asr(ev.p, model, original, protected, other, n, size, a, mb, ma)
		})
	})
	return a[0], mb[0], ma[0], err
}
