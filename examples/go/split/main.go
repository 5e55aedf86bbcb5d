// Command split runs one half of the APF split at a time:
//
//	split device-gradient PROBE.apfm FACE.jpg G.blob
//	split cloud TRANSFER.apfm G.blob S.blob
//	split device-apply FACE.jpg S.blob OUT.png
//
// Only G.blob travels to the server and only S.blob back; the cloud half
// never opens a photo.
package main

import (
	"fmt"
	"io"
	"os"

	"libapf.org/apf"
)

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readLimited reads at most 4 MB, the most a blob for 64 faces could need.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 4<<20))
}

func deviceGradient(probePath, facePath, gPath string) error {
	face, err := apf.LoadImage(facePath)
	if err != nil {
		return err
	}
	probe, err := apf.NewProbe(probePath, apf.Options{})
	if err != nil {
		return err
	}
	defer probe.Close()
	blob, err := probe.GradientBlob(face.Pix, nil, 112)
	if err != nil {
		return err
	}
	fmt.Printf("device: %d bytes to send\n", len(blob))
	return writeNew(gPath, blob)
}

func cloud(transferPath, gPath, sPath string) error {
	g, err := readLimited(gPath)
	if err != nil {
		return err
	}
	c, err := apf.NewCloudFilter(transferPath, "", 0)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.Filter(g)
	if err != nil {
		return err
	}
	fmt.Printf("cloud: received %d bytes, returned %d\n", len(g), len(s))
	return writeNew(sPath, s)
}

func deviceApply(facePath, sPath, outPath string) error {
	data, err := readLimited(sPath)
	if err != nil {
		return err
	}
	s, err := apf.DecodeBlob(data)
	if err != nil {
		return err
	}
	if s.Kind != apf.WireNoise {
		return fmt.Errorf("%s is not a noise blob", sPath)
	}
	face, err := apf.LoadImage(facePath)
	if err != nil {
		return err
	}
	pix, err := apf.ApplyPerturbation(face.Pix, s.Values, 1)
	if err != nil {
		return err
	}
	out := &apf.Image{Width: face.Width, Height: face.Height, Pix: pix}
	if err := out.Save(outPath, 95); err != nil {
		return err
	}
	fmt.Printf("device: wrote %s\n", outPath)
	return nil
}

func main() {
	cmds := map[string]func(a, b, c string) error{
		"device-gradient": deviceGradient, "cloud": cloud, "device-apply": deviceApply,
	}
	if len(os.Args) != 5 || cmds[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: split device-gradient|cloud|device-apply ARG ARG ARG")
		os.Exit(2)
	}
	if err := cmds[os.Args[1]](os.Args[2], os.Args[3], os.Args[4]); err != nil {
		fmt.Fprintln(os.Stderr, "split:", err)
		os.Exit(1)
	}
}
