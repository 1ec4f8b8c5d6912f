/**
 * Every command of the CLI, in the order `jml --help` lists them. A command
 * file exports one `register…Command(program, ctx)` function.
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { registerApplyCommand } from './apply-command.ts';
import { registerApprovalCommands } from './approval-commands.ts';
import { registerAssetCommands } from './asset-commands.ts';
import { registerLicenceCommands } from './licence-commands.ts';
import { registerAuditCommand } from './audit-command.ts';
import { registerBackupCommands } from './backup-commands.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerEvidenceCommands } from './evidence-command.ts';
import { registerIdentityCommands } from './identity-commands.ts';
import { registerImportCommand } from './import-command.ts';
import { registerLeaverCommands } from './leaver-commands.ts';
import { registerMigrateCommand } from './migrate-command.ts';
import { registerPlanCommands } from './plan-command.ts';
import { registerPolicyCommands } from './policy-commands.ts';
import { registerQuarantineCommands } from './quarantine-commands.ts';
import { registerReconcileCommands } from './reconcile-commands.ts';
import { registerRequestCommands } from './request-commands.ts';
import { registerRescindCommand } from './rescind-command.ts';
import { registerReviewCommands } from './review-commands.ts';
import { registerSourceCommand } from './source-command.ts';
import { registerSystemCommands } from './system-commands.ts';
import { registerScimCommands } from './scim-commands.ts';
import { registerSecretCommands } from './secret-commands.ts';
import { registerServeCommand } from './serve-command.ts';
import { registerTaskCommands } from './task-commands.ts';
import { registerUserCommands } from './user-commands.ts';
import { registerWorkerCommand } from './worker-command.ts';

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: readonly RegisterCommand[] = [registerImportCommand, registerSourceCommand, registerIdentityCommands, registerRescindCommand, registerAuditCommand, registerDemoCommand,
  registerPlanCommands, registerApplyCommand, registerTaskCommands, registerReconcileCommands, registerSystemCommands, registerPolicyCommands, registerSecretCommands, registerServeCommand,
  registerRequestCommands, registerApprovalCommands, registerLeaverCommands, registerQuarantineCommands, registerWorkerCommand, registerAssetCommands, registerLicenceCommands, registerUserCommands,
  registerMigrateCommand, registerEvidenceCommands, registerBackupCommands, registerReviewCommands, registerScimCommands];
