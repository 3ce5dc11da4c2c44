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
