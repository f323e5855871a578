"""The file being described: its proto, its comments by source path, its options and syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from google.protobuf import descriptor_pb2 as pb
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message

from rpcctl.schema.describe_options import OptionReader

INDENT = "  "

SourcePath = tuple[int, ...]

# Field numbers of FileDescriptorProto and friends, as used in SourceCodeInfo paths
# (google/protobuf/descriptor.proto, SourceCodeInfo.Location.path).
FILE_MESSAGE, FILE_ENUM, FILE_SERVICE, FILE_EXTENSION = 4, 5, 6, 7
MSG_FIELD, MSG_NESTED, MSG_ENUM, MSG_EXTENSION, MSG_ONEOF = 2, 3, 4, 6, 8
ENUM_VALUE, SERVICE_METHOD = 2, 2


@dataclass
class Source:
    """One file's proto with an index of its comments and a reader of its options."""

    file: FileDescriptor
    proto: pb.FileDescriptorProto
    comments: dict[SourcePath, pb.SourceCodeInfo.Location] = field(default_factory=dict)
    reader: OptionReader = field(init=False)

    def __post_init__(self) -> None:
        self.reader = OptionReader(self.file)
        if not self.comments:
            self.comments = {tuple(loc.path): loc for loc in self.proto.source_code_info.location}

    @property
    def editions(self) -> bool:
        """True for a file written with `edition = "…"` rather than `syntax`."""
        return self.proto.syntax == "editions"

    @property
    def proto2(self) -> bool:
        """True for proto2 (an empty syntax means proto2)."""
        return self.proto.syntax in ("", "proto2")

    @property
    def edition_year(self) -> int:
        """2023, 2024, … for an editions file; 0 otherwise."""
        if not self.editions:
            return 0
        digits = pb.Edition.Name(self.proto.edition).removeprefix("EDITION_")
        return int(digits) if digits.isdigit() else 0

    def options(self, options: Message, scope: str) -> list[tuple[str, str]]:
        """The option pairs of an options message, names written for `scope`."""
        return self.reader.options(options, scope)

    def option_lines(self, options: Message, scope: str, indent: str) -> list[str]:
        """`option name = value;` lines."""
        return [f"{indent}option {name} = {value};" for name, value in self.options(options, scope)]

    def lead(self, path: SourcePath, indent: str) -> list[str]:
        """The leading comment of an element, as `//` lines."""
        loc = self.comments.get(path)
        if loc is None or not loc.HasField("leading_comments"):
            return []
        return [f"{indent}//{line}".rstrip() for line in _comment_lines(loc.leading_comments)]

    def trail(self, path: SourcePath) -> str:
        """The trailing comment of an element, as ` // text`."""
        loc = self.comments.get(path)
        if loc is None or not loc.HasField("trailing_comments"):
            return ""
        text = " ".join(line.strip() for line in _comment_lines(loc.trailing_comments))
        return f" // {text}" if text else ""


def _comment_lines(text: str) -> list[str]:
    lines = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
    return [_CONTROL.sub(_escape, line) for line in lines]


# Comments come from whoever built the descriptor (a server's reflection answer, a protoset):
# control characters would reach the terminal, so they are shown escaped.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"
