// Command protect-one protects one aligned 112x112 face end to end:
//
//	protect-one PROBE.apfm TRANSFER.apfm FACE.jpg OUT.png
//
// The probe's gradient blob is all that would leave the device; the cloud
// filter returns the noise blob; the face plus noise is saved (never over an
// existing file).
package main

import (
	"fmt"
	"os"

	"libapf.org/apf"
)

func run(probePath, transferPath, facePath, outPath string) error {
	face, err := apf.LoadImage(facePath)
	if err != nil {
		return err
	}
	probe, err := apf.NewProbe(probePath, apf.Options{})
	if err != nil {
		return err
	}
	defer probe.Close()
	cloud, err := apf.NewCloudFilter(transferPath, "", 0)
	if err != nil {
		return err
	}
	defer cloud.Close()
	gBlob, err := probe.GradientBlob(face.Pix, nil, 112)
	if err != nil {
		return err
	}
	sBlob, err := cloud.Filter(gBlob)
	if err != nil {
		return err
	}
	s, err := apf.DecodeBlob(sBlob)
	if err != nil {
		return err
	}
	pix, err := apf.ApplyPerturbation(face.Pix, s.Values, 1)
	if err != nil {
		return err
	}
	prot := &apf.Image{Width: face.Width, Height: face.Height, Pix: pix}
	if err := prot.Save(outPath, 95); err != nil {
		return err
	}
	ssim, err := apf.SSIM(face, prot)
	if err != nil {
		return err
	}
	model, err := apf.LoadModel(probePath, 0)
	if err != nil {
		return err
	}
	defer model.Close()
	both := make([]float32, 0, 2*len(pix))
	for _, img := range [][]byte{face.Pix, pix} {
		for _, v := range img {
			both = append(both, float32(v))
		}
	}
	e, err := model.Embed(both, 112)
	if err != nil {
		return err
	}
	d := model.Dim()
	var cos float32
	for i := 0; i < d; i++ {
		cos += e[i] * e[d+i]
	}
	fmt.Printf("%s: sent %d bytes, received %d; SSIM %.3f; probe similarity %.3f\n",
		outPath, len(gBlob), len(sBlob), ssim, cos)
	return nil
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: protect-one PROBE.apfm TRANSFER.apfm FACE.jpg OUT.png")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3], os.Args[4]); err != nil {
		fmt.Fprintln(os.Stderr, "protect-one:", err)
		os.Exit(1)
	}
}
