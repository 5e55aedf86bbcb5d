// Command evaluate tells whether a protected face still matches its person:
//
//	evaluate ORIGINAL.png PROTECTED.png OTHER.jpg MODEL.apfm...
//
// It prints SSIM and, per recognizer, the genuine pair's cosine similarity
// before (original vs other) and after (protected vs other) protection.
package main

import (
	"fmt"
	"os"

	"libapf.org/apf"
)

func run(paths []string, models []string) error {
	imgs := make([]*apf.Image, 3)
	for i, p := range paths {
		img, err := apf.LoadImage(p)
		if err != nil {
			return err
		}
		imgs[i] = img
	}
	ssim, err := apf.SSIM(imgs[0], imgs[1])
	if err != nil {
		return err
	}
	ev, err := apf.NewEvaluator(models, 0)
	if err != nil {
		return err
	}
	defer ev.Close()
	fmt.Printf("SSIM %.4f\n%-24s %8s %8s\n", ssim, "recognizer", "before", "after")
	for k, name := range ev.ModelNames() {
		before, err := ev.Similarity(k, imgs[0].Pix, imgs[2].Pix, 112)
		if err != nil {
			return err
		}
		after, err := ev.Similarity(k, imgs[1].Pix, imgs[2].Pix, 112)
		if err != nil {
			return err
		}
		fmt.Printf("%-24s %8.3f %8.3f\n", name, before[0], after[0])
	}
	return nil
}

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: evaluate ORIGINAL.png PROTECTED.png OTHER.jpg MODEL.apfm...")
		os.Exit(2)
	}
	if err := run(os.Args[1:4], os.Args[4:]); err != nil {
		fmt.Fprintln(os.Stderr, "evaluate:", err)
		os.Exit(1)
	}
}
