import pytest

from qualcode.errors import ProjectError
from qualcode.project import CONFIG_NAME, Project


def test_create_writes_database_and_settings(tmp_path):
    project = Project.create(tmp_path / "study", name="My study", language="en", interviewer_labels=["I", "Facilitator"])
    assert (tmp_path / "study" / "qualcode.db").exists()
    assert project.name == "My study"
    assert project.interviewer_labels == ["I", "Facilitator"]
    assert project.language == "en"
    assert project.id_rule == "stem"
    project.close()


def test_find_walks_upward_from_the_current_folder(tmp_path, monkeypatch):
    Project.create(tmp_path / "study").close()
    nested = tmp_path / "study" / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    project = Project.find()
    assert project.root == (tmp_path / "study").resolve()
    project.close()


def test_find_without_project_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectError, match="qualcode init"):
        Project.find()
    with pytest.raises(ProjectError, match="not a qualcode project"):
        Project.find(tmp_path)


def test_create_refuses_an_existing_project_and_unknown_language(tmp_path):
    Project.create(tmp_path / "s").close()
    with pytest.raises(ProjectError, match="already holds"):
        Project.create(tmp_path / "s")
    with pytest.raises(ProjectError, match="unsupported language"):
        Project.create(tmp_path / "t", language="klingon")
    assert not (tmp_path / "t" / "qualcode.db").exists()


def test_broken_settings_file_is_reported(tmp_path):
    Project.create(tmp_path / "s").close()
    (tmp_path / "s" / CONFIG_NAME).write_text("[project\nname = 1", encoding="utf-8")
    with pytest.raises(ProjectError, match="qualcode.toml"):
        Project.find(tmp_path / "s")


def test_speaker_map_is_read_from_settings(tmp_path):
    Project.create(tmp_path / "s").close()
    with (tmp_path / "s" / CONFIG_NAME).open("a", encoding="utf-8") as handle:
        handle.write('\n[speaker_map.TL5]\n"Speaker 1" = "interviewer"\n"Speaker 2" = "TL5"\n')
    project = Project.find(tmp_path / "s")
    assert project.speaker_map == {"TL5": {"Speaker 1": "interviewer", "Speaker 2": "TL5"}}
    project.close()
