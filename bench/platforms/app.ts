import 'reflect-metadata';
import {
  Module,
  Injectable,
  type CanActivate,
  type ExecutionContext,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import {
  Field,
  GqlExecutionContext,
  GraphQLModule,
  ID,
  ObjectType,
  Query,
  Resolver,
} from '@nestjs/graphql';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ExpressAdapter } from '@nestjs/platform-express';

@ObjectType()
class User {
  @Field(() => ID) id: string;
  @Field(() => String) email: string;
  @Field(() => String, { nullable: true }) name: string | null;
  @Field(() => String) role: string;
}

@Injectable()
class BearerGuard implements CanActivate {
  canActivate(ctx: ExecutionContext) {
    const req = GqlExecutionContext.create(ctx).getContext().req;
    return typeof req.headers.authorization === 'string';
  }
}

const USER = {
  id: '01a204f9-a706-7460-969d-9ccf72c14f31',
  email: 'foo@example.com',
  name: 'Foo',
  role: 'USER',
};

@Resolver(() => User)
class UsersResolver {
  @Query(() => User)
  @UseGuards(BearerGuard)
  me() {
    return USER;
  }
}

@Module({
  imports: [
    GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      autoSchemaFile: true,
      graphiql: false,
      context: (req: any, res: any) => ({ req: req.req ?? req, res }),
    }),
  ],
  providers: [UsersResolver],
})
class AppModule {}

const platform = process.argv[2];
const app = await NestFactory.create(
  AppModule,
  platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
  { logger: false },
);
await app.listen(Number(process.argv[3]), '127.0.0.1');
console.log('ready');
