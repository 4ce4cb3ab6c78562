-- AlterTable
ALTER TABLE "security_events" ADD COLUMN     "actor_id" UUID;
