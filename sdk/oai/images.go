package oai

// Image is one generated image: a URL or base64 data.
type Image struct {
	URL           string
	B64JSON       string
	RevisedPrompt string
}

// AppendImagesResponse appends a canonical image-generation response:
// {"created":…,"data":[{"url"|"b64_json",…}]}.
func AppendImagesResponse(dst []byte, created int64, images []Image) []byte {
	dst = append(dst, `{"created":`...)
	dst = AppendInt(dst, created)
	dst = append(dst, `,"data":[`...)
	for i, im := range images {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		if im.B64JSON != "" {
			dst = append(dst, `"b64_json":`...)
			dst = AppendString(dst, im.B64JSON)
		} else {
			dst = append(dst, `"url":`...)
			dst = AppendString(dst, im.URL)
		}
		if im.RevisedPrompt != "" {
			dst = append(dst, `,"revised_prompt":`...)
			dst = AppendString(dst, im.RevisedPrompt)
		}
		dst = append(dst, '}')
	}
	return append(dst, `]}`...)
}
