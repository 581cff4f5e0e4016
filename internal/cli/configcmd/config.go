// Package configcmd holds `tokenctl config`: get, set, unset, list and use,
// over the profiles in config.yaml.
package configcmd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/config"
)

// NewCmdConfig returns the `config` command group.
func NewCmdConfig(f *cmdutil.Factory) *cobra.Command {
	var keys []string
	for _, k := range config.Keys {
		def := ""
		if k.Default != "" {
			def = " (default " + k.Default + ")"
		}
		keys = append(keys, fmt.Sprintf("  %-15s %s%s", k.Name, k.Help, def))
	}
	cmd := &cobra.Command{
		Use:   "config <command>",
		Short: "Read and change settings and profiles",
		Long: `Read and change tokenctl's settings, kept per profile in
$XDG_CONFIG_HOME/tokenctl/config.yaml. A profile holds a host and defaults, so
one person can work against several servers; --profile NAME (or
TOKENCTL_PROFILE) picks one for a command, ` + "`config use NAME`" + ` switches for good.

Settings, per profile (TOKENCTL_<KEY> in the environment overrides them):
` + strings.Join(keys, "\n") + `

The config file never holds a secret: keys that look like one are refused.`,
		Example: `  $ tokenctl config set host https://tokens.example.com
  $ tokenctl config use staging && tokenctl config set host https://tokens.staging.example.com
  $ tokenctl config list --profile staging`,
	}
	cmd.AddCommand(newCmdGet(f), newCmdSet(f), newCmdUnset(f), newCmdList(f), newCmdUse(f))
	return cmd
}

func loadConfig(f *cmdutil.Factory) (*config.Config, error) {
	return f.Config()
}

func newCmdGet(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "get KEY",
		Short:   "Print a setting's value in the selected profile",
		Long:    "Print the effective value of KEY in the selected profile (environment over file over default), or current_profile.",
		Example: "  $ tokenctl config get host\n  $ tokenctl config get expiry_warning --profile staging",
		Args:    cmdutil.ExactArgs(1, "tokenctl config get KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(f)
			if err != nil {
				return err
			}
			if args[0] == config.CurrentProfileKey {
				fmt.Fprintln(f.IOStreams.Out, cfg.CurrentProfile())
				return nil
			}
			v, err := cfg.Get(args[0])
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			fmt.Fprintln(f.IOStreams.Out, v.Value)
			return nil
		},
	}
}

func newCmdSet(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "set KEY VALUE",
		Short:   "Change a setting in the selected profile",
		Long:    "Validate VALUE and store it under KEY in the selected profile. `config set current_profile NAME` is the same as `config use NAME`.",
		Example: "  $ tokenctl config set host https://tokens.example.com\n  $ tokenctl config set expiry_warning 14d --profile ci",
		Args:    cmdutil.ExactArgs(2, "tokenctl config set KEY VALUE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(f)
			if err != nil {
				return err
			}
			if err := cfg.Set(args[0], args[1]); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			return nil
		},
	}
}

func newCmdUnset(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "unset KEY",
		Short:   "Remove a setting from the selected profile",
		Long:    "Remove KEY from the selected profile, so its default (or environment) applies again.",
		Example: "  $ tokenctl config unset expiry_warning",
		Args:    cmdutil.ExactArgs(1, "tokenctl config unset KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(f)
			if err != nil {
				return err
			}
			if err := cfg.Unset(args[0]); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			return nil
		},
	}
}

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the settings of the selected profile",
		Long:    "List every setting of the selected profile as KEY=VALUE lines, after a profile=NAME line.",
		Example: "  $ tokenctl config list\n  $ tokenctl config list --profile staging",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(f)
			if err != nil {
				return err
			}
			out := f.IOStreams.Out
			fmt.Fprintf(out, "profile=%s\n", cfg.Profile())
			for _, v := range cfg.List() {
				fmt.Fprintf(out, "%s=%s\n", v.Key, v.Value)
			}
			return nil
		},
	}
}

func newCmdUse(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "use NAME",
		Short:   "Switch the current profile",
		Long:    "Make NAME the current profile, creating it when it does not exist yet.",
		Example: "  $ tokenctl config use staging",
		Args:    cmdutil.ExactArgs(1, "tokenctl config use NAME"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			cfg, err := loadConfig(f)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			// A profile made by `config use` alone has no settings and so
			// is not in the file's profiles: add the current one.
			names := cfg.Profiles()
			if cur := cfg.CurrentProfile(); !slices.Contains(names, cur) {
				names = append(names, cur)
				slices.Sort(names)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(f)
			if err != nil {
				return err
			}
			if err := cfg.Use(args[0]); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			fmt.Fprintf(f.IOStreams.ErrOut, "Current profile is now %s\n", args[0])
			return nil
		},
	}
}
