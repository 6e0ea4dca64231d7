# SPDX-License-Identifier: MIT
# bash completion for deployd: options, their values, the plan file, and the plan's task names
# (asked of deployd itself: `deployd PLAN [-i INVENTORY...] --task-names`).

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

  local options="-H --hosts --limit --var -i --inventory -l --list -n --dry-run --graph
    --output --color -f --forks --log-dir --report -q --quiet -v --verbose --version -h --help"
  local with_value="-H|--hosts|--limit|--var|-i|--inventory|--output|--color|-f|--forks|--log-dir|--report"

  case $prev in
    --output) COMPREPLY=($(compgen -W "stream group json" -- "$cur")); return ;;
    --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
    -i|--inventory|--report|--html) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --log-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    -H|--hosts|--limit|--var|-f|--forks) return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
    return
  fi

  # The plan is the first word that is neither an option nor an option's value; inventories
  # go along, as the plan may take its hosts from them.
  local plan="" i word
  local -a inventories=()
  for ((i = 1; i < cword; i++)); do
    word=${words[i]}
    if [[ $word == @(-i|--inventory) ]]; then
      inventories+=(-i "${words[i+1]}")
      ((i++))
    elif [[ $word == @($with_value) ]]; then
      ((i++))
    elif [[ $word != -* && -z $plan ]]; then
      plan=$word
    fi
  done
  if [[ -z $plan ]]; then
    COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
    return
  fi
  local tasks
  tasks=$("${words[0]}" "$plan" "${inventories[@]}" --task-names 2>/dev/null) || return
  COMPREPLY=($(compgen -W "$tasks" -- "$cur"))
}
complete -F _deployd deployd
