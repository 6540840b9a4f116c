"""`vtc07 completion bash|zsh`: a shell completion script made from the command's own
parser (commands, their options, choices, and register names for read and write), so it
cannot drift from the options."""

from __future__ import annotations

import argparse


def _words(parser: argparse.ArgumentParser) -> tuple[list[str], dict[str, argparse.ArgumentParser]]:
    """The option strings and choices of `parser`'s own arguments; its subcommands."""
    opts: list[str] = []
    subs: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            subs.update(action.choices)
            continue
        opts.extend(action.option_strings)
        if action.choices and not action.option_strings:
            opts.extend(str(c) for c in action.choices)
    return opts, subs


def script(parser: argparse.ArgumentParser, shell: str = "bash") -> str:
    from . import hhu

    top, commands = _words(parser)
    registers = " ".join(r.name for r in hhu.registers())
    cases = []
    for name, sub in sorted(commands.items()):
        opts, kinds = _words(sub)
        words = opts + sorted(kinds)
        for kind in kinds.values():  # generate's kinds: their options too
            words.extend(o for o in _words(kind)[0] if o not in words)
        if name in ("read", "write"):
            words.append(registers)
        cases.append('        %s) words="%s";;' % (name, " ".join(words)))
    lines = (
        [
            '# vtc07 completion (%s): eval "$(vtc07 completion %s)"' % (shell, shell),
            "autoload -U +X bashcompinit && bashcompinit" if shell == "zsh" else "",
            "_vtc07() {",
            "    local cur=${COMP_WORDS[COMP_CWORD]} cmd= w words",
            '    for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do',
            '        case " %s " in *" $w "*) cmd=$w; break;; esac' % " ".join(sorted(commands)),
            "    done",
            "    case $cmd in",
        ]
        + cases
        + [
            '        *) words="%s %s";;' % (" ".join(sorted(commands)), " ".join(top)),
            "    esac",
            '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
            "}",
            "complete -o default -F _vtc07 vtc07",
        ]
    )
    return "\n".join(line for line in lines if line)
