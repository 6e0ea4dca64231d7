# SPDX-License-Identifier: MIT
# bash completion for deployd: options, their values, the plan file, the plan's task names (also
# after --only), and its host and group names after -H and --limit (asked of deployd itself:
# `deployd PLAN [-i INVENTORY...] --task-names` or `--host-names`); after `--`, the ad-hoc
# command's name. tests/integration/cli_test.py checks that it offers the options and values
# `deployd --help` lists.

# The plan on the command line (the first word that is neither an option nor an option's value)
# and the inventories that go along, as the plan may take its hosts from them: sets `plan` and
# `inventories` in the caller.
_deployd_plan() {
  local with_value=$1 i word
  plan=""
  inventories=()
  for ((i = 1; i < cword; i++)); do
    word=${words[i]}
    if [[ $word == @(-i|--inventory) ]]; then
      inventories+=(-i "${words[i+1]}")
      ((i++))
    elif [[ $word == --retry-failed ]]; then
      [[ ${words[i+1]} =~ ^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$ ]] && ((i++))
    elif [[ $word == @($with_value) ]]; then
      ((i++))
    elif [[ $word != -* && -z $plan ]]; then
      plan=$word
    fi
  done
}

_deployd() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion || return
  else
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi

  local options="-H --hosts --limit --var --var-env -i --inventory -l --list -n --dry-run --show-files --diff --graph
    --output --color -f --forks --batches --log-dir --retry-failed -F --ssh-config --report --junit
    --output-dir --persist -q --quiet -v --verbose --version -h --help --only --exclude --list-hosts --sudo
    --timeout"
  local with_value="-H|--hosts|--limit|--var|--var-env|-i|--inventory|--output|--color|-f|--forks|--batches|--log-dir|-F|--ssh-config|--report|--junit|--output-dir|--persist|--only|--exclude|--timeout"
  local plan
  local -a inventories

  case $prev in
    --output) [[ ${words[1]} != show ]] && { COMPREPLY=($(compgen -W "stream group json" -- "$cur")); return; } ;;
    --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
    -i|--inventory|--report|--junit|--html|-F|--ssh-config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --log-dir|--output-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    -H|--hosts|--limit)
      [[ ${words[1]} == show ]] && return
      # A comma-separated list: the word after the last comma is completed.
      _deployd_plan "$with_value"
      [[ -n $plan ]] || return
      local names head=""
      [[ $cur == *,* ]] && head=${cur%,*},
      names=$("${words[0]}" "$plan" "${inventories[@]}" --host-names 2>/dev/null) || return
      COMPREPLY=($(compgen -P "$head" -W "$names" -- "${cur##*,}"))
      return ;;
    --var|--var-env|-f|--forks|--batches|--exclude|--timeout|--persist|--idle) return ;;
  esac
  # After `--`: an ad-hoc command, completed as a command.
  local k
  for ((k = 1; k < cword; k++)); do
    if [[ ${words[k]} == -- ]]; then
      ((k == cword - 1)) && COMPREPLY=($(compgen -c -- "$cur"))
      return
    fi
  done
  # The subcommands: `deployd runs [PLAN]`, `deployd show RUN`, `deployd serve`.
  if [[ ${words[1]} == show && $cword -gt 1 ]]; then
    case $prev in
      --output) COMPREPLY=($(compgen -W "stream group" -- "$cur")); return ;;
      --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
      --html|--plan) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      --log-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
      --host|--hosts) return ;;
    esac
    [[ $cur == -* ]] &&
      COMPREPLY=($(compgen -W "--html --timeline --hosts --output --host --color --log-dir --plan -h --help" -- "$cur"))
    return
  fi
  if [[ ${words[1]} == serve && $cword -gt 1 ]]; then
    [[ $cur == -* ]] && COMPREPLY=($(compgen -W "--idle --foreground --status --stop -h --help" -- "$cur"))
    return
  fi
  if [[ ${words[1]} == runs && $cword -gt 1 ]]; then
    case $prev in
      --log-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
      -n|--max-count) return ;;
    esac
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "--plan --log-dir -n --max-count -h --help" -- "$cur"))
    else
      COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
    fi
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
    return
  fi

  _deployd_plan "$with_value"
  if [[ -z $plan ]]; then
    COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
    ((cword == 1)) && COMPREPLY+=($(compgen -W "runs show config serve" -- "$cur"))
    return
  fi
  local tasks
  tasks=$("${words[0]}" "$plan" "${inventories[@]}" --task-names 2>/dev/null) || return
  COMPREPLY=($(compgen -W "$tasks" -- "$cur"))
}
complete -F _deployd deployd
