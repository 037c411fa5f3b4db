"""Uploaded zip archives: unpacked inside a fresh folder, or refused with a reason."""

import io
import stat
import zipfile

import pytest

from wpa.errors import DatasetError
from wpa.media.archive import MAX_RATIO, unpack_dataset_zip


def make_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def test_class_folders_are_unpacked_and_a_wrapping_folder_is_stepped_into(tmp_path):
    archive = make_zip(tmp_path / "data.zip", {"workouts/squat/a.mp4": b"1", "workouts/plank/b.mp4": b"2",
                                                "__MACOSX/workouts/._a.mp4": b"junk", "workouts/.DS_Store": b"junk"})
    root = unpack_dataset_zip(archive, tmp_path / "uploads")
    assert root.name == "workouts" and root.parent.parent == tmp_path / "uploads"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == ["plank/b.mp4", "squat/a.mp4"]


def test_two_uploads_never_share_a_folder(tmp_path):
    archive = make_zip(tmp_path / "data.zip", {"squat/a.mp4": b"1", "plank/b.mp4": b"2"})
    assert unpack_dataset_zip(archive, tmp_path / "up") != unpack_dataset_zip(archive, tmp_path / "up")


@pytest.mark.parametrize("name", ["../evil.mp4", "squat/../../evil.mp4", "/etc/evil.mp4", "C:/evil.mp4",
                                  "..\\evil.mp4"])
def test_paths_leaving_the_folder_are_refused(tmp_path, name):
    archive = make_zip(tmp_path / "data.zip", {"squat/a.mp4": b"1", name: b"x"})
    with pytest.raises(DatasetError, match="outside its folder"):
        unpack_dataset_zip(archive, tmp_path / "uploads")
    assert list((tmp_path / "uploads").iterdir()) == []  # nothing left behind
    assert not (tmp_path / "evil.mp4").exists()


def test_links_are_refused(tmp_path):
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("squat/a.mp4", b"1")
        link = zipfile.ZipInfo("squat/b.mp4")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(link, "/etc/passwd")
    with pytest.raises(DatasetError, match="link"):
        unpack_dataset_zip(archive, tmp_path / "uploads")


def test_a_zip_bomb_is_refused(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"squat/a.mp4": b"\0" * (50 * 1024 * 1024)}, zipfile.ZIP_DEFLATED)
    info = zipfile.ZipFile(archive).infolist()[0]
    assert info.file_size / info.compress_size > MAX_RATIO
    with pytest.raises(DatasetError, match="zip bomb"):
        unpack_dataset_zip(archive, tmp_path / "uploads")


def test_a_member_larger_than_it_declares_is_refused(tmp_path):
    archive = make_zip(tmp_path / "liar.zip", {"squat/a.mp4": b"x" * 5000})
    data = bytearray(archive.read_bytes())
    # Shrink the declared size in the central directory: unpacking must not trust it.
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    central = data.rindex(b"PK\x01\x02")
    data[central + 24:central + 28] = (100).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="damaged|more data than it declares"):
        unpack_dataset_zip(archive, tmp_path / "uploads")
    assert info.file_size == 5000 and list((tmp_path / "uploads").iterdir()) == []


def test_not_a_zip_and_an_empty_zip(tmp_path):
    (tmp_path / "data.zip").write_text("hello")
    with pytest.raises(DatasetError, match="not a zip archive"):
        unpack_dataset_zip(tmp_path / "data.zip", tmp_path / "uploads")
    with pytest.raises(DatasetError, match="empty"):
        unpack_dataset_zip(make_zip(tmp_path / "empty.zip", {}), tmp_path / "uploads")
