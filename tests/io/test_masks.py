"""The one rule by which every command reads a person mask."""
import numpy as np

from humanseg.io.masks import person_of


def test_person_is_above_half_the_range_or_above_zero_in_a_label_map():
    for stored, person in (([0, 1, 2], [False, True, True]), ([0, 100, 200], [False, False, True]),
                           ([0, 0, 0], [False, False, False])):
        assert person_of(np.array([stored], np.uint8)).tolist() == [person]
    for stored, person in (([0, 1, 255], [False, True, True]), ([0, 1000, 40000], [False, False, True])):
        assert person_of(np.array([stored], np.uint16)).tolist() == [person]
    assert person_of(np.dstack([np.array([[0, 255]], np.uint8)] * 3)).tolist() == [[False, True]]


def _shape(h=6, w=8):
    """uint8 HxW 0/255: a 'person' block in the middle."""
    person = np.zeros((h, w), np.uint8)
    person[2:5, 3:6] = 255
    return person


def test_a_person_drawn_only_in_the_alpha_channel_is_read_from_the_alpha(tmp_path):
    import cv2

    from humanseg.io.masks import read_person_mask

    person = _shape()
    for colour in (0, 255, 128):   # black, white or grey ink: the colour says nothing, the alpha everything
        path = tmp_path / f"alpha_{colour}.png"
        cv2.imwrite(str(path), np.dstack([np.full_like(person, colour)] * 3 + [person]))
        assert (read_person_mask(path) == (person > 0)).all(), colour
    # the pixels under full transparency hold another colour (an editor's white or black fill): still the alpha
    path = tmp_path / "ink_on_white.png"
    cv2.imwrite(str(path), np.dstack([255 - person] * 3 + [person]))   # black person, white where transparent
    assert (read_person_mask(path) == (person > 0)).all()
    soft = person.copy()
    soft[2, 3] = 100   # a soft edge below half: background, as in a grey mask
    path = tmp_path / "soft.png"
    cv2.imwrite(str(path), np.dstack([np.zeros_like(person)] * 3 + [soft]))
    assert read_person_mask(path).sum() == (person > 0).sum() - 1
    path = tmp_path / "deep.png"   # 16 bits: the same rule on the 16-bit alpha
    cv2.imwrite(str(path), np.dstack([np.zeros_like(person, np.uint16)] * 3 + [person.astype(np.uint16) * 257]))
    assert (read_person_mask(path) == (person > 0)).all()


def test_an_rgba_mask_whose_colour_draws_the_person_keeps_reading_the_colour(tmp_path):
    import cv2

    from humanseg.io.masks import read_person_mask

    person = _shape()
    for alpha in (np.full_like(person, 255), np.zeros_like(person), np.where(person > 0, 255, 0).astype(np.uint8),
                  np.full_like(person, 200)):
        path = tmp_path / "colour.png"
        cv2.imwrite(str(path), np.dstack([person] * 3 + [alpha]))
        assert (read_person_mask(path) == (person > 0)).all()
    path = tmp_path / "blank.png"   # constant colour and constant alpha: nobody
    cv2.imwrite(str(path), np.dstack([np.zeros_like(person)] * 3 + [np.full_like(person, 255)]))
    assert not read_person_mask(path).any()
    # colour and alpha disagree (a colour mask with a few transparent pixels): the colour, as before
    alpha = np.full_like(person, 255)
    alpha[0, 0] = 0
    cv2.imwrite(str(path), np.dstack([person] * 3 + [alpha]))
    assert (read_person_mask(path) == (person > 0)).all()



def test_a_mask_with_exif_orientation_is_read_upright_like_its_photo(tmp_path):
    """A phone app's JPEG mask stored sideways with Orientation=6, beside its photo stored the same way: both read
    upright, so the label lines up with the image (was: the mask unrotated, refused or misplaced)."""
    from PIL import Image

    from humanseg.evaluation.evaluate import read_label
    from humanseg.io.images import read_image

    stored = np.zeros((360, 480), np.uint8)
    stored[:60, :120] = 255                      # person block at the stored top left
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "m.jpg", "JPEG", exif=exif, quality=95)
    Image.fromarray(np.stack([stored] * 3, -1)).save(tmp_path / "p.jpg", "JPEG", exif=exif, quality=95)
    image = read_image(tmp_path / "p.jpg")
    label = read_label(tmp_path / "m.jpg", image.shape[:2])
    assert label.shape == image.shape[:2] == (480, 360)
    assert label[:100, -50:].mean() > 0.9 and label[:100, :50].mean() < 0.1   # turned clockwise: top right
    assert np.array_equal(label, image[..., 1] > 127)
