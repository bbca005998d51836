from qualcode import units
from qualcode.codebook import load_tree


def test_tiny_project_units_and_tree(tiny_project):
    conn = tiny_project.connect()
    paragraphs = units.load_units(conn, "paragraph")
    assert [u.key for u in paragraphs] == ["SF1.txt#2", "SF1.txt#4", "SF2.txt#2", "SF2.txt#4", "TL1.txt#2", "TL1.txt#3"]
    tree = load_tree(conn)
    assert tree.descendants("work") == ["work", "work.caseload", "work.toll"]
    assert tree.path("sup.peer") == ["support", "sup.peer"]
