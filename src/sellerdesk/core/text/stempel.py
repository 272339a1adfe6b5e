"""Polish stems from the Stempel stemming table, held in a few flat arrays.

The algorithm is Stempel's, by Dawid Weiss, built on the Egothor stemmer by Leo Galambos; the
table is the PoliMorf one (trained on the Morfologik / PoliMorf dictionary, BSD-licensed, see
LICENSE.txt beside it) that the pystempel package ships, and it is read from there. This module
is an independent implementation of the table's format and of its lookup, no code taken from
Stempel or pystempel, giving the same stem as pystempel's `Stemmer.polimorf()` word for word.
pystempel turns the table into 1.4 million Python objects (about 170 MB in every process); here
each trie is two flat int arrays (9 MB in all).

The table is a gzipped Java DataOutputStream of an Egothor MultiTrie2: a header string, then
(forward flag, part size, trie count) and each trie as (forward flag, root row, its patch
commands as Java UTF strings, its rows). A row is a cell count and cells of (char, command,
count, next row, skip), the chars ascending. Each trie gives one part of a word's patch: the
command met last on the word's path, read from its last letter backwards.
"""

from __future__ import annotations

import codecs
import gzip
import importlib.util
import struct
import sys
import threading
from array import array
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from itertools import islice
from typing import NamedTuple, Protocol

# Trained on the PoliMorf dictionary; the smaller default table leaves "zwrot" and "zwrotu" apart.
_TABLE_PACKAGE = "pystempel"
_TABLE_PATH = ("data", "polimorf", "stemmer_polimorf.tbl.gz")
# One cell on disk: char (u16), command, count, next row, skip (i32 each), big-endian.
_CELL_SIZE = 18
_CHAR_AT, _COMMAND_AT, _NEXT_AT = 0, 2, 10
# The command that ends a word's patch: the tries after it have nothing for the word.
_END_OF_PATCH = "*"


class Readable(Protocol):
    """A binary stream: an open file, a GzipFile, a BytesIO."""

    def read(self, size: int, /) -> bytes: ...


class _Reader:
    """Reads Java DataOutputStream values from a binary stream."""

    def __init__(self, stream: Readable) -> None:
        self.stream = stream

    def take(self, size: int) -> bytes:
        chunk = self.stream.read(size)
        if len(chunk) != size:
            raise ValueError("the stemming table ends early")
        return chunk

    def boolean(self) -> bool:
        return self.take(1) != b"\0"

    def int32(self) -> int:
        value: int = struct.unpack(">i", self.take(4))[0]
        return value

    def utf(self) -> str:
        size: int = struct.unpack(">H", self.take(2))[0]
        return self.take(size).decode("utf-8")


@dataclass(frozen=True, slots=True)
class _Cells:
    """One trie as stored: row r's cells are `starts[r]` to `starts[r + 1]` in the fields."""

    forward: bool
    root: int
    patches: tuple[str, ...]
    starts: array[int]
    letters: str
    commands: array[int]
    next_rows: array[int]

    @classmethod
    def read(cls, reader: _Reader) -> _Cells:
        forward = reader.boolean()
        root = reader.int32()
        patches = tuple(reader.utf() for _ in range(reader.int32()))
        starts = array("i", [0])
        cells = bytearray()
        for _ in range(reader.int32()):
            width = reader.int32()
            cells += reader.take(width * _CELL_SIZE)
            starts.append(starts[-1] + width)
        # Each field becomes one array at C speed: no Python object per cell, even for a moment.
        return cls(
            forward=forward,
            root=root,
            patches=patches,
            starts=starts,
            letters=_field(cells, _CHAR_AT, 2).decode("utf-32-be", "surrogatepass"),
            commands=_int32s(_field(cells, _COMMAND_AT, 4)),
            next_rows=_int32s(_field(cells, _NEXT_AT, 4)),
        )


def _field(cells: bytearray, at: int, size: int) -> bytearray:
    """One field of every cell, as big-endian values 4 bytes wide (chars are zero-padded)."""
    field = bytearray(4 * (len(cells) // _CELL_SIZE))
    for byte in range(size):
        field[4 - size + byte :: 4] = cells[at + byte :: _CELL_SIZE]
    return field


def _int32s(big_endian: bytearray) -> array[int]:
    values = array("i")
    if values.itemsize != 4:
        raise RuntimeError("array('i') is not 32 bits wide here")
    values.frombytes(big_endian)
    if sys.byteorder == "little":
        values.byteswap()
    return values


class _Alphabet:
    """The letters in a table's cells, each numbered by a byte: its column in the tries."""

    def __init__(self, letters: str) -> None:
        if len(letters) > 256:
            raise ValueError("the stemming table has more letters than a byte can number")
        self.size = len(letters)
        # A charmap codec numbers a whole word at C speed; "\ufffe" marks the unused bytes.
        self._encoding = codecs.charmap_build(letters.ljust(256, "\ufffe"))

    def columns(self, key: str) -> bytes:
        """The key's letters as columns, up to the first letter the table does not have."""
        # No cell has that letter, so a path through the tries ends there.
        try:
            return codecs.charmap_encode(key, "strict", self._encoding)[0]
        except UnicodeEncodeError as error:
            return codecs.charmap_encode(key[: error.start], "strict", self._encoding)[0]


class _Part(NamedTuple):
    """A trie's patch command, with what chaining it to the other tries' parts needs."""

    text: str
    first_op: str
    last_op: str
    span: int  # how many of the word's letters it steps over


def _part(patch: str) -> _Part | None:
    if patch == _END_OF_PATCH:
        return None
    span = 0
    for op, arg in zip(patch[::2], patch[1::2], strict=False):
        if op in "-D":
            span += ord(arg) - ord("a") + 1
        elif op == "R":
            span += 1
    return _Part(patch, patch[0], patch[-2], span)


@dataclass(frozen=True, slots=True)
class _Trie:
    """One trie as a matrix with a row per trie row and a column per letter, flattened.

    A slot holds the command for its letter (-1: none) and the slot where the next row starts
    (negative: the path ends). Two slots in five are used; that costs 3 MB more than sparse
    rows, where searching for each letter's cell made walking a path four times slower.
    """

    root: int
    commands: array[int]
    next_rows: array[int]
    # Indexed by command; the None at the end is index -1, so "no command" ends a patch too.
    parts: tuple[_Part | None, ...]

    @classmethod
    def build(cls, read: _Cells, alphabet: _Alphabet) -> _Trie:
        width = alphabet.size
        slots = width * (len(read.starts) - 1)
        commands = array("h" if len(read.patches) <= 0x7FFF else "i", [-1]) * slots
        next_rows = array("i", [-1]) * slots
        cells = zip(alphabet.columns(read.letters), read.commands, read.next_rows, strict=True)
        for row, (start, end) in enumerate(zip(read.starts, read.starts[1:], strict=False)):
            row_start = row * width
            for column, command, next_row in islice(cells, end - start):
                commands[row_start + column] = command
                next_rows[row_start + column] = next_row * width
        return cls(
            root=read.root * width,
            commands=commands,
            next_rows=next_rows,
            parts=(*(_part(patch) for patch in read.patches), None),
        )

    def last_command(self, path: bytes) -> int:
        """The last command met on a path of columns from the root, or -1 if none."""
        commands, next_rows = self.commands, self.next_rows
        row, last = self.root, -1
        for column in path:
            slot = row + column
            if (command := commands[slot]) >= 0:
                last = command
            row = next_rows[slot]
            if row < 0:
                break
        return last


class Stemmer:
    """A Stempel MultiTrie2 stemming table, with pystempel's lookup and patching."""

    def __init__(self, tries: list[_Cells], *, forward: bool) -> None:
        if len({trie.forward for trie in tries}) > 1:
            raise ValueError("the stemming table's tries read words in different directions")
        self._forward = forward
        self._tries_forward = not tries or tries[0].forward
        self._alphabet = _Alphabet("".join(sorted(set("".join(t.letters for t in tries)))))
        self._tries = tuple(_Trie.build(trie, self._alphabet) for trie in tries)

    @classmethod
    def read(cls, table: Readable) -> Stemmer:
        """A stemmer from an uncompressed table."""
        reader = _Reader(table)
        kind = reader.utf()
        if "M" not in kind.upper():
            raise ValueError(f"not a MultiTrie stemming table: {kind!r}")
        forward = reader.boolean()
        reader.int32()  # the part size, which only building the table needs
        return cls([_Cells.read(reader) for _ in range(reader.int32())], forward=forward)

    def stem(self, word: str) -> str | None:
        """The word patched to its stem; the word itself if no patch; None if nothing is left."""
        if not word:
            return None  # pystempel raises IndexError here
        return _apply(word, self._patch(word)) or None

    def _patch(self, word: str) -> str:
        """The word's patch: each trie's part of it, chained as MultiTrie2 does."""
        patch = ""
        key = word
        path = self._path(word)
        last_op = ""
        previous_span = 0
        for trie in self._tries:
            part = trie.parts[trie.last_command(path)]
            if part is None:
                break
            text, first_op, next_last_op, span = part
            if first_op == last_op and first_op in "-D":
                break
            last_op = next_last_op
            if first_op == "-":
                # A skip moves the key past the letters it and the part before it step over,
                # so the next tries look at the rest of the word.
                rest = self._skip(key, previous_span + span)
                if rest is None:
                    break
                key = rest
                if key:
                    path = self._path(key)
            previous_span = span
            patch += text
        return patch

    def _path(self, key: str) -> bytes:
        """The key's letters as columns, in the order the tries read them."""
        return self._alphabet.columns(key if self._tries_forward else key[::-1])

    def _skip(self, key: str, count: int) -> str | None:
        """The key less `count` letters at its patched end; None if it is shorter than that."""
        if self._forward:
            return key[count:]
        return None if len(key) < count else key[: len(key) - count]


def _apply(word: str, patch: str) -> str:
    """Run a patch's commands from the word's last letter backwards; stop at the first misfit."""
    at = len(word) - 1
    for i in range(0, len(patch) - 1, 2):
        op, arg = patch[i], patch[i + 1]
        if op == "-":
            at -= ord(arg) - ord("a")
        elif op == "R":
            if not 0 <= at < len(word):
                break
            word = word[:at] + arg + word[at + 1 :]
        elif op == "D":
            end = at
            at -= ord(arg) - ord("a")
            if not 0 <= at < len(word):
                break
            word = word[:at] + word[end + 1 :]
        elif op == "I":
            at += 1
            if not 0 <= at <= len(word):
                break
            word = word[:at] + arg + word[at:]
        at -= 1
    return word


_lock = threading.Lock()
_stemmer: Stemmer | None = None


def load() -> Stemmer:
    """The PoliMorf table's stemmer, read from pystempel's data once per process."""
    global _stemmer
    if _stemmer is None:
        with _lock:
            if _stemmer is None:
                with _table_file().open("rb") as raw, gzip.open(raw) as table:
                    _stemmer = Stemmer.read(table)
    return _stemmer


def _table_file() -> Traversable:
    """pystempel's PoliMorf table, found without running pystempel's code."""
    # Importing pystempel (even its data package) runs its __init__, which imports its stemmer,
    # tqdm and sortedcontainers: 2 MB for nothing. A module made from the spec and never run
    # is all importlib.resources needs.
    spec = importlib.util.find_spec(_TABLE_PACKAGE)
    if spec is None:
        raise ModuleNotFoundError(f"No module named {_TABLE_PACKAGE!r}", name=_TABLE_PACKAGE)
    return files(importlib.util.module_from_spec(spec)).joinpath(*_TABLE_PATH)


def stem(word: str) -> str | None:
    """Stempel's stem of a word with the PoliMorf table, exactly as pystempel's."""
    return load().stem(word)
