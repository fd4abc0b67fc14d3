package filing

// FaceCheck is what the machine pre-review looks for with the face detector in one slot's
// image (api/openapi.json, MATERIAL warnings; the README, "Faces").
type FaceCheck int

const (
	// FaceCheckNone: no face check (certificates, the form, other materials).
	FaceCheckNone FaceCheck = iota
	// FaceCheckPhoto: the face photo; exactly one clear, centred face on white
	// (no_face, multiple_faces, face_too_small, face_not_centered, background_not_white).
	FaceCheckPhoto
	// FaceCheckPortraitSide: the front (portrait side) of an ID; all six types have a
	// portrait there (no_face).
	FaceCheckPortraitSide
	// FaceCheckEmblemSide: the back of a document whose back has no portrait, the national
	// emblem side (wrong_side when a face is found).
	FaceCheckEmblemSide
)

// FaceCheck returns the face check of slot s on this order: which person's ID the slot
// holds decides whether its back may show a face.
func (o *Order) FaceCheck(s Slot) FaceCheck {
	switch s {
	case SlotFacePhoto:
		return FaceCheckPhoto
	case SlotSubjectLeaderIDFront, SlotWebsiteLeaderIDFront:
		return FaceCheckPortraitSide
	case SlotSubjectLeaderIDBack:
		return emblemBack(o.SubjectLeader.IDType)
	case SlotWebsiteLeaderIDBack:
		return emblemBack(o.WebsiteLeader.IDType)
	}
	return FaceCheckNone
}

// emblemBack: the resident ID and the two residence permits carry the portrait on the
// front and the national emblem on the back; the travel permits' backs carry other data
// (and sometimes a small photo), so a face there says nothing.
func emblemBack(t IDType) FaceCheck {
	switch t {
	case ResidentID, HKMacauResidencePermit, TaiwanResidencePermit:
		return FaceCheckEmblemSide
	}
	return FaceCheckNone
}
