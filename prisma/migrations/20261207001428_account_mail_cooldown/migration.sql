-- AlterTable
ALTER TABLE "users" ADD COLUMN     "reset_mail_sent_at" TIMESTAMPTZ(3),
ADD COLUMN     "verify_mail_sent_at" TIMESTAMPTZ(3);
