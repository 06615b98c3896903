"""Photos of facts: checked by content, re-encoded without metadata, served."""

from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa
from PIL import Image, TiffImagePlugin

from orfi.api.services import create_token
from orfi.auth.models import Role
from orfi.errors import ValidationError
from orfi.extensions import db
from orfi.photos.models import Photo
from orfi.photos.services import clean_image
from orfi.reports.models import Report
from tests.factories import (
    category,
    commit,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
MAKE, MODEL, ORIENTATION, DATETIME_ORIGINAL = 0x010F, 0x0110, 0x0112, 0x9003


def jpeg_with_metadata(width=640, height=480, orientation=1) -> bytes:
    """A JPEG carrying what a phone writes: GPS position, device, date, comment, ICC."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    for x in range(width // 2):  # a left half in another colour, to see rotations
        for y in range(0, height, 8):
            image.putpixel((x, y), (20, 20, 200))
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[MODEL] = "Gardien Phone 12"
    exif[ORIENTATION] = orientation
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = "2026:11:21 14:30:00"
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (
        TiffImagePlugin.IFDRational(43, 1),
        TiffImagePlugin.IFDRational(38, 1),
        TiffImagePlugin.IFDRational(2724, 100),
    )
    gps[3] = "E"
    gps[4] = (
        TiffImagePlugin.IFDRational(1, 1),
        TiffImagePlugin.IFDRational(25, 1),
        TiffImagePlugin.IFDRational(5772, 100),
    )
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        exif=exif.tobytes(),
        comment=b"Rue des Izards, Toulouse",
        icc_profile=b"\x00" * 128,
    )
    return out.getvalue()


def png_with_alpha() -> bytes:
    image = Image.new("RGBA", (300, 200), (0, 128, 0, 0))
    image.putpixel((10, 10), (0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=_png_text())
    return out.getvalue()


def _png_text():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Gardien Nord")
    return info


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (10, 10, 10)).save(out, "WEBP", quality=30)
    return out.getvalue()


def assert_no_metadata(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert not {"exif", "icc_profile", "comment", "xmp", "photoshop"} & set(image.info)
    for marker in (b"Exif", b"PhoneMaker", b"Gardien Phone", b"Izards", b"2026:11:21"):
        assert marker not in data
    return image


# --------------------------------------------------------------------- the service


def test_exif_gps_and_device_are_removed(app):
    raw = jpeg_with_metadata()
    original = Image.open(io.BytesIO(raw))
    assert original.getexif().get_ifd(GPS_IFD)  # the test photo does carry a position
    assert original.getexif()[MODEL] == "Gardien Phone 12"
    clean = clean_image(raw, "IMG_0001.jpg")
    assert_no_metadata(clean.data)
    assert_no_metadata(clean.thumbnail)
    assert (clean.width, clean.height) == (640, 480)


def test_orientation_is_applied_before_the_exif_goes(app):
    # Orientation 6: the camera was turned; the pixels must be turned, not the tag kept.
    clean = clean_image(jpeg_with_metadata(orientation=6), "portrait.jpg")
    image = assert_no_metadata(clean.data)
    assert image.size == (480, 640)


def test_large_photos_are_resized(app):
    clean = clean_image(webp(), "grand.webp")
    assert max(clean.width, clean.height) == 1600
    thumb = Image.open(io.BytesIO(clean.thumbnail))
    assert max(thumb.size) == 480


def test_png_transparency_is_flattened(app):
    clean = clean_image(png_with_alpha(), "plan.png")
    image = assert_no_metadata(clean.data)
    assert image.mode == "RGB"
    assert b"Gardien Nord" not in clean.data


@pytest.mark.parametrize(
    "content",
    [
        b"Ceci n'est pas une photo, juste du texte.",
        b"%PDF-1.4\n1 0 obj<<>>endobj\n",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
        + b"\x00" * 40,  # a JPEG header, then nothing
    ],
)
def test_non_images_are_refused_whatever_their_name(app, content):
    with pytest.raises(ValidationError) as error:
        clean_image(content, "photo.jpg")
    message = error.value.errors["photo"][0]
    assert "« photo.jpg » n'est pas une photo lisible" in message
    assert "JPEG, PNG ou WebP" in message


def test_decompression_bombs_are_refused_before_decoding(app):
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")
    with pytest.raises(ValidationError) as error:
        clean_image(out.getvalue(), "bombe.png")
    assert "trop grande" in error.value.errors["photo"][0]


# ---------------------------------------------------------------------- the API


@pytest.fixture
def world(app, tmp_path):
    app.config["ORFI_PHOTO_DIR"] = str(tmp_path / "photos")
    organisation = make_organisation(code="PHO")
    residence = make_residence(organisation)
    gardien = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    colleague = make_user(organisation, role=Role.GARDIEN, sector=[])
    referent = make_user(organisation, role=Role.REFERENT)
    report = make_report(gardien)
    _, gardien_token = create_token(gardien, "x")
    _, colleague_token = create_token(colleague, "x")
    _, referent_token = create_token(referent, "x")
    commit()
    return {
        "organisation": organisation,
        "residence": residence,
        "gardien": gardien,
        "referent": referent,
        "report": report,
        "dir": tmp_path / "photos",
        "gardien_token": {"Authorization": f"Bearer {gardien_token}"},
        "colleague_token": {"Authorization": f"Bearer {colleague_token}"},
        "referent_token": {"Authorization": f"Bearer {referent_token}"},
    }


def upload(
    client, world, data: bytes, name="photo.jpg", photo_uuid=None, who="gardien"
):
    form = {"photo": (io.BytesIO(data), name)}
    if photo_uuid:
        form["uuid"] = str(photo_uuid)
    return client.post(
        f"/api/v1/reports/{world['report'].uuid}/photos",
        data=form,
        headers=world[f"{who}_token"],
        content_type="multipart/form-data",
    )


def count_photos() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Photo))


def test_api_photo_comes_out_without_metadata(client, world):
    photo_uuid = uuid.uuid4()
    response = upload(client, world, jpeg_with_metadata(), photo_uuid=photo_uuid)
    assert response.status_code == 201, response.json
    assert response.json["uuid"] == str(photo_uuid)
    image = client.get(response.json["url"], headers=world["gardien_token"])
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert image.headers["Cache-Control"].startswith("private")
    assert_no_metadata(image.data)
    thumb = client.get(response.json["thumbnail_url"], headers=world["gardien_token"])
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 480
    # Only the re-encoded files are on disk: never the original bytes.
    files = sorted(p.name for p in world["dir"].rglob("*") if p.is_file())
    assert files == [f"{photo_uuid}-mini.jpg", f"{photo_uuid}.jpg"]
    for path in world["dir"].rglob("*.jpg"):
        assert b"Gardien Phone" not in path.read_bytes()


def test_api_resend_of_a_photo_stores_it_once(client, world):
    photo_uuid = uuid.uuid4()
    assert (
        upload(client, world, jpeg_with_metadata(), photo_uuid=photo_uuid).status_code
        == 201
    )
    again = upload(client, world, jpeg_with_metadata(), photo_uuid=photo_uuid)
    assert again.status_code == 200
    assert count_photos() == 1


def test_api_refuses_a_text_file_named_jpg(client, world):
    response = upload(client, world, b"juste du texte", name="rapport.jpg")
    assert response.status_code == 422
    assert (
        "« rapport.jpg » n'est pas une photo lisible"
        in response.json["fields"]["photo"][0]
    )
    assert count_photos() == 0
    assert not world["dir"].exists() or not any(world["dir"].rglob("*.jpg"))


def test_api_refuses_more_than_three(client, world):
    for _ in range(3):
        assert upload(client, world, png_with_alpha(), name="p.png").status_code == 201
    fourth = upload(client, world, png_with_alpha(), name="p.png")
    assert fourth.status_code == 422
    assert "3 photos" in fourth.json["fields"]["photo"][0]
    assert count_photos() == 3


def test_api_refuses_a_photo_over_the_size_limit(client, world, app):
    app.config["ORFI_PHOTO_MAX_BYTES"] = 1000
    response = upload(client, world, jpeg_with_metadata())
    assert response.status_code == 422
    assert "dépasse" in response.json["fields"]["photo"][0]


def test_api_needs_the_photo_field(client, world):
    response = client.post(
        f"/api/v1/reports/{world['report'].uuid}/photos",
        data={"uuid": str(uuid.uuid4())},
        headers=world["gardien_token"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "photo" in response.json["fields"]


def test_photos_are_served_only_to_who_may_see_the_fact(client, world, auth):
    url = upload(client, world, jpeg_with_metadata()).json["url"]
    assert client.get(url, headers=world["referent_token"]).status_code == 200
    # Another gardien of the bailleur does not read this fact, nor its photos.
    assert client.get(url, headers=world["colleague_token"]).status_code == 404
    stranger = make_user(make_organisation(), role=Role.REFERENT)
    _, secret = create_token(stranger, "x")
    commit()
    assert (
        client.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code
        == 404
    )
    assert client.get(url).status_code == 401
    # The page route follows the same rule.
    photo = db.session.scalar(sa.select(Photo))
    auth.login(stranger.email)
    assert client.get(f"/photos/{photo.uuid}").status_code == 404
    auth.logout()
    auth.login(world["gardien"].email)
    assert client.get(f"/photos/{photo.uuid}").status_code == 200
    assert client.get(f"/photos/{photo.uuid}?taille=miniature").status_code == 200


# ----------------------------------------------------------------------- the pages


def test_field_form_sends_photos_with_the_fact(client, auth, world):
    from datetime import timedelta

    from orfi.database import utcnow
    from orfi.timezone import to_local

    auth.login(world["gardien"].email)
    form = {
        "category": str(category(world["organisation"], "AB02").id),
        "residence": str(world["residence"].id),
        "occurred_at": to_local(utcnow() - timedelta(minutes=5)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "photos": [
            (io.BytesIO(jpeg_with_metadata()), "tag1.jpg"),
            (io.BytesIO(png_with_alpha()), "tag2.png"),
        ],
    }
    response = client.post(
        "/signalements/nouveau", data=form, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    report = db.session.scalar(sa.select(Report).where(Report.id != world["report"].id))
    photos = db.session.scalars(
        sa.select(Photo).where(Photo.report_id == report.id)
    ).all()
    assert [p.position for p in photos] == [1, 2]
    detail = client.get(f"/signalements/{report.uuid}")
    assert detail.text.count('class="photo-item"') == 2


def test_field_form_refuses_a_fake_photo_and_stores_nothing(client, auth, world):
    from orfi.database import utcnow
    from orfi.timezone import to_local

    auth.login(world["gardien"].email)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Report))
    form = {
        "category": "",  # and a missing category: both problems are shown at once
        "residence": str(world["residence"].id),
        "occurred_at": to_local(utcnow()).strftime("%Y-%m-%dT%H:%M"),
        "photos": [(io.BytesIO(b"%PDF-1.4 pas une image"), "constat.jpg")],
    }
    response = client.post(
        "/signalements/nouveau", data=form, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "« constat.jpg » n&#39;est pas une photo lisible" in response.text
    assert "Choisissez à nouveau vos photos" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == before
    assert count_photos() == 0


def test_detail_page_adds_and_referent_deletes_photos(client, auth, world):
    report = world["report"]
    auth.login(world["gardien"].email)
    page = client.get(f"/signalements/{report.uuid}")
    assert "Aucune photo" in page.text and 'enctype="multipart/form-data"' in page.text
    response = client.post(
        f"/photos/signalement/{report.uuid}",
        data={"photos": [(io.BytesIO(jpeg_with_metadata()), "a.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    bad = client.post(
        f"/photos/signalement/{report.uuid}",
        data={"photos": [(io.BytesIO(b"texte"), "b.jpg")]},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "n&#39;est pas une photo lisible" in bad.text
    assert count_photos() == 1
    assert "Supprimer" not in client.get(f"/signalements/{report.uuid}").text
    auth.logout()

    auth.login(world["referent"].email)
    photo = db.session.scalar(sa.select(Photo))
    response = client.post(f"/photos/{photo.uuid}/supprimer")
    assert response.status_code == 302
    assert count_photos() == 0
    assert not any(world["dir"].rglob("*.jpg"))
